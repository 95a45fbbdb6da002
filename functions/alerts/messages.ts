import type { AlertFailing, AlertRule, AlertState } from '../../shared/alert-schema.ts';

// What a notification says. The webhook body is the Standard Webhooks shape `{type, timestamp,
// data}`; Slack gets a few readable lines made from the same event.

export interface AlertEvent {
  type: 'alert.firing' | 'alert.resolved';
  /** When the transition was made (ISO 8601): the same on every retry. */
  timestamp: string;
  data: {
    rule: string;
    rule_type: AlertRule['type'];
    group: string | null;
    state: 'firing' | 'resolved';
    /** When the condition began to hold (firing), or when it cleared (resolved). */
    since: string;
    failing_count: number;
    worst: AlertFailing[];
    diagnosis: string[];
    limits: { max_loss: number; max_rtt_ms: number | null; max_age_s: number | null } | null;
  };
}

export function alertEvent(rule: AlertRule, state: AlertState): AlertEvent {
  const event = state.event === 'resolved' ? 'resolved' : 'firing';
  const seen = state.observation;
  return {
    type: `alert.${event}`,
    timestamp: new Date(state.since_ms).toISOString(),
    data: {
      rule: rule.name,
      rule_type: rule.type,
      group: rule.type === 'group' ? rule.group : null,
      state: event,
      since: new Date(
        event === 'firing' ? (state.failing_since_ms ?? state.since_ms) : state.since_ms,
      ).toISOString(),
      failing_count: seen?.failing_count ?? 0,
      worst: seen?.worst ?? [],
      diagnosis: seen?.diagnosis ?? [],
      limits:
        rule.type === 'group'
          ? {
              max_loss: rule.max_loss,
              max_rtt_ms: rule.max_rtt_ms ?? null,
              max_age_s: rule.max_age_s ?? null,
            }
          : null,
    },
  };
}

/** Slack's incoming-webhook body: mrkdwn text, readable in a notification preview too. */
export function slackMessage(event: AlertEvent): { text: string } {
  const d = event.data;
  const what = d.group === null ? 'agents offline' : `group \`${d.group}\``;
  if (d.state === 'resolved') {
    return {
      text: `:large_green_circle: *Resolved* \`${d.rule}\` (${what}): back within limits since ${d.since}`,
    };
  }
  const lines = [
    `:red_circle: *Firing* \`${d.rule}\` (${what}) since ${d.since}: ${d.failing_count} failing ${d.group === null ? 'agent(s)' : '(agent, IP) pair(s)'}`,
  ];
  for (const f of d.worst) lines.push(`• ${describeFailing(f)}`);
  if (d.failing_count > d.worst.length) lines.push(`• ... and ${d.failing_count - d.worst.length} more`);
  if (d.diagnosis.length > 0) lines.push(`Likely cause: ${d.diagnosis.join('; ')}`);
  return { text: lines.join('\n') };
}

function describeFailing(f: AlertFailing): string {
  const where = [f.ip, f.agent ? `from ${f.agent}` : null].filter(Boolean).join(' ') || 'the group';
  const percent = (loss: number) => `${(loss * 100).toFixed(loss < 0.01 ? 2 : 0)}%`;
  const what: Record<string, string> = {
    loss: f.loss !== null ? `${percent(f.loss)} loss` : 'no replies',
    rtt: f.rtt_ms !== null ? `${f.rtt_ms.toFixed(1)} ms average RTT` : 'no RTT',
    offline: 'offline',
    stale: 'no recent figures',
    no_data: 'no figures',
  };
  const cause = f.likely_cause !== 'unknown' ? ` (likely cause: the ${f.likely_cause})` : '';
  return `${where}: ${what[f.reason] ?? f.reason}${cause}`;
}
