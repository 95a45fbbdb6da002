// Stopping a child started with `detached: true` (its own process group), with everything it
// started in turn: wrangler dev runs workerd and esbuild under it, and a stray workerd would hold
// its port for the next test. SIGTERM first, SIGKILL if the group is still there after the grace.

export async function stopProcessGroup(
  pid: number,
  exited: Promise<unknown>,
  graceMs = 5_000,
): Promise<void> {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }, graceMs);
  await exited;
  clearTimeout(timer);
}
