// The demo agent runs with a credential of its own, made through the API as an operator would
// (`ping-agent credentials rotate`), so the everyday local path is the least-privilege one.

/** Makes (or remakes) the agent's own Redis token through the API and returns it. */
export async function scopedAgentToken(apiUrl: string, apiToken: string, agent: string): Promise<string> {
  const response = await fetch(`${apiUrl}/v1/agents/${agent}/credentials`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiToken}` },
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json().catch(() => ({}))) as { token?: string; error?: { message?: string } };
  if (!response.ok || typeof body.token !== 'string') {
    throw new Error(
      `the API would not make agent ${agent}'s credential (${response.status}: ${body.error?.message ?? 'no message'})`,
    );
  }
  return body.token;
}
