import { describe, expect, it } from 'vitest';
import { ipStatusPattern, keySchema, parseKey } from './keys.ts';

describe('key schema', () => {
  const keys = keySchema();

  it('spells every key of the seed exactly', () => {
    expect(keys.agentList()).toBe('agent-list');
    expect(keys.agentOnline('dc1-a')).toBe('agent-online_dc1-a');
    expect(keys.agentErrList('dc1-a')).toBe('agent-err-list_dc1-a');
    expect(keys.agentJobs('dc1-a')).toBe('agent-jobs_dc1-a');
    expect(keys.agentJob('dc1-a', 'core')).toBe('agent_dc1-a_core');
    expect(keys.groupsList()).toBe('groups-list');
    expect(keys.group('dc1')).toBe('group_dc1');
    expect(keys.ipStatus('dc1-a', '192.168.2.1')).toBe('ip_dc1-a_192.168.2.1');
    expect(keys.ipStatus('dc1-a', '2001:db8::1')).toBe('ip_dc1-a_2001:db8::1');
  });

  it('spells the keys the project added in the same style', () => {
    expect(keys.configVersion()).toBe('config-version');
    expect(keys.ipMinutes('a', '10.0.0.1')).toBe('ip-minutes_a_10.0.0.1');
    expect(keys.ipHours('a', '10.0.0.1')).toBe('ip-hours_a_10.0.0.1');
    expect(keys.webhookSeen('msg_1')).toBe('webhook-seen_msg_1');
    expect(keys.webhookSeen('m+/=*%')).toBe('webhook-seen_m%2B%2F%3D%2A%25');
    expect(parseKey(keys.webhookSeen('m+/=*%'))).toEqual({ kind: 'webhook-seen', id: 'm+/=*%' });
    expect(keys.groupStaging('dc1', 'abc')).toBe('group-staging_abc_dc1');
    expect(keys.groupDigest('dc1')).toBe('group-digest_dc1');
    expect(keys.groupSummary('edge-1', 'dc_1')).toBe('group-summary_edge-1_dc_1');
    expect(keys.agentSummary('edge-1')).toBe('agent-summary_edge-1');
  });

  it('parses the summary and digest keys back', () => {
    expect(parseKey('group-summary_edge-1_dc_1')).toEqual({
      kind: 'group-summary',
      agent: 'edge-1',
      group: 'dc_1',
    });
    expect(parseKey('group-digest_dc_1')).toEqual({ kind: 'group-digest', group: 'dc_1' });
    expect(parseKey('agent-summary_edge-1')).toEqual({ kind: 'agent-summary', agent: 'edge-1' });
    expect(parseKey('group-summary_edge-1')).toBeNull();
  });

  it('spells and parses the packed history keys and the config channel', () => {
    expect(keys.ipMinuteBlock('a', '10.0.0.1', 72)).toBe('ip-minute-block_a_10.0.0.1_72');
    expect(keys.ipHourBlock('a', '2001:db8::1', 0)).toBe('ip-hour-block_a_2001:db8::1_0');
    expect(keys.configChannel()).toBe('config-changed');
    expect(parseKey('ip-minute-block_a_10.0.0.1_72')).toEqual({
      kind: 'ip-minute-block',
      agent: 'a',
      ip: '10.0.0.1',
      slot: 72,
    });
    expect(parseKey('ip-hour-block_a_::1_3')).toEqual({
      kind: 'ip-hour-block',
      agent: 'a',
      ip: '::1',
      slot: 3,
    });
    expect(parseKey('ip-minute-block_a_10.0.0.1')).toBeNull();
    expect(parseKey('ip-minute-block_a_10.0.0.1_x')).toBeNull();
  });

  it('spells and parses the measurement keys', () => {
    expect(keys.measurement('m1x')).toBe('measurement_m1x');
    expect(keys.measurementState('edge-1', 'm1x')).toBe('measurement-state_edge-1_m1x');
    expect(keys.measurementResult('edge-1', 'm1x')).toBe('measurement-result_edge-1_m1x');
    expect(keys.measureRate('ab12', 29000)).toBe('measure-rate_ab12_29000');
    expect(keys.measurementPending()).toBe('measurement-pending');
    expect(parseKey('ns:measurement-pending', 'ns:')).toEqual({ kind: 'measurement-pending' });
    expect(parseKey('measurement_m1x')).toEqual({ kind: 'measurement', id: 'm1x' });
    expect(parseKey('measurement-state_edge-1_m1x')).toEqual({
      kind: 'measurement-state',
      id: 'm1x',
      agent: 'edge-1',
    });
    expect(parseKey('ns:measurement-result_e.2_m1x', 'ns:')).toEqual({
      kind: 'measurement-result',
      id: 'm1x',
      agent: 'e.2',
    });
    expect(parseKey('measure-rate_ab12_29000')).toEqual({
      kind: 'measure-rate',
      client: 'ab12',
      window: 29000,
    });
    expect(parseKey('measure-rate_ab12_x')).toBeNull();
    expect(parseKey('measurement-state_edge-1')).toBeNull();
  });

  it('spells and parses the alert and notifier keys', () => {
    expect(keys.alertList()).toBe('alert-list');
    expect(keys.alertRule('dc1-loss')).toBe('alert_dc1-loss');
    expect(keys.alertStates()).toBe('alert-states');
    expect(keys.alertTransition('dc1-loss', 'a1b2.3')).toBe('alert-transition_dc1-loss_a1b2.3');
    expect(keys.alertOutbox()).toBe('alert-outbox');
    expect(keys.alertDelivery('a1b2.3.ops')).toBe('alert-delivery_a1b2.3.ops');
    expect(keys.alertLease('a1b2.3.ops')).toBe('alert-lease_a1b2.3.ops');
    expect(keys.alertLog('dc1-loss')).toBe('alert-log_dc1-loss');
    expect(keys.notifierList()).toBe('notifier-list');
    expect(keys.notifier('slack-ops')).toBe('notifier_slack-ops');
    for (const kind of ['alert-list', 'alert-states', 'alert-outbox', 'notifier-list']) {
      expect(parseKey(`ns:${kind}`, 'ns:')).toEqual({ kind });
    }
    expect(parseKey('alert_dc1-loss')).toEqual({ kind: 'alert-rule', rule: 'dc1-loss' });
    expect(parseKey('alert-log_dc1-loss')).toEqual({ kind: 'alert-log', rule: 'dc1-loss' });
    expect(parseKey('notifier_slack-ops')).toEqual({ kind: 'notifier', notifier: 'slack-ops' });
    expect(parseKey('alert-delivery_a1b2.3.ops')).toEqual({ kind: 'alert-delivery', id: 'a1b2.3.ops' });
    expect(parseKey('alert-lease_a1b2.3.ops')).toEqual({ kind: 'alert-lease', id: 'a1b2.3.ops' });
    expect(parseKey('alert-transition_dc1-loss_a1b2.3')).toEqual({
      kind: 'alert-transition',
      rule: 'dc1-loss',
      transition: 'a1b2.3',
    });
    expect(parseKey('alert-transition_dc1-loss')).toBeNull();
    expect(parseKey('alert_a_b')).toBeNull();
  });

  it('puts a namespace prefix in front of every key', () => {
    const ns = keySchema('staging:');
    expect(ns.agentList()).toBe('staging:agent-list');
    expect(ns.agentJob('a', 'j')).toBe('staging:agent_a_j');
    expect(ns.ipStatus('a', '10.0.0.1')).toBe('staging:ip_a_10.0.0.1');
  });

  it('parses every key back into its parts', () => {
    expect(parseKey('agent-list')).toEqual({ kind: 'agent-list' });
    expect(parseKey('groups-list')).toEqual({ kind: 'groups-list' });
    expect(parseKey('agent-online_x.y')).toEqual({ kind: 'agent-online', agent: 'x.y' });
    expect(parseKey('agent-err-list_x')).toEqual({ kind: 'agent-err-list', agent: 'x' });
    expect(parseKey('agent-jobs_x')).toEqual({ kind: 'agent-jobs', agent: 'x' });
    expect(parseKey('agent_x_my_job')).toEqual({ kind: 'agent-job', agent: 'x', job: 'my_job' });
    expect(parseKey('group_dc_1')).toEqual({ kind: 'group', group: 'dc_1' });
    expect(parseKey('ip_x_::1')).toEqual({ kind: 'ip-status', agent: 'x', ip: '::1' });
    expect(parseKey('ip-minutes_x_10.0.0.1')).toEqual({ kind: 'ip-minutes', agent: 'x', ip: '10.0.0.1' });
    expect(parseKey('ns:ip_x_10.0.0.1', 'ns:')).toEqual({ kind: 'ip-status', agent: 'x', ip: '10.0.0.1' });
  });

  it('round-trips builders through the parser', () => {
    const agent = 'edge-7.fra';
    for (const key of [
      keys.agentJob(agent, 'a_b.c-d'),
      keys.ipStatus(agent, 'fe80::1'),
      keys.ipHours(agent, '10.1.2.3'),
      keys.agentOnline(agent),
    ]) {
      const parsed = parseKey(key);
      expect(parsed, key).not.toBeNull();
      expect(parsed && 'agent' in parsed ? parsed.agent : null).toBe(agent);
    }
  });

  it('refuses keys that are not ours', () => {
    expect(parseKey('something')).toBeNull();
    expect(parseKey('agent_')).toBeNull();
    expect(parseKey('agent_onlyagent')).toBeNull();
    expect(parseKey('ip_x_')).toBeNull();
    expect(parseKey('other:agent-list', 'ns:')).toBeNull();
  });

  it('matches only one agent with the status scan pattern', () => {
    expect(ipStatusPattern(keys, 'a')).toBe('ip_a_*');
    expect(ipStatusPattern(keySchema('p[1]'), 'a')).toBe('p\\[1\\]ip_a_*');
  });
});
