import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, startApiHarness } from '../testing/api-harness.ts';

// /v1/alerts and /v1/notifiers against a real redis-server behind the gateway.

let api: ApiHarness;

beforeAll(async () => {
  api = await startApiHarness();
}, 30_000);

afterAll(async () => {
  await api?.close();
});

const rule = { group: 'dc1', max_loss: 0.1, for_s: 120, notify: ['hook'] };

describe('notifiers', () => {
  it('refuses URLs that are not https or name private hosts, with 422 naming the field', async () => {
    for (const url of [
      'http://hooks.example.com/x',
      'https://127.0.0.1/x',
      'https://10.0.0.1/x',
      'https://[::1]/x',
      'https://localhost/x',
      'not a url',
    ]) {
      const res = await api.call('PUT', '/v1/notifiers/hook', { body: { type: 'webhook', url } });
      expect(res.status, url).toBe(422);
      expect(res.body.error).toMatchObject({ type: 'validation', field: 'url' });
    }
    const badType = await api.call('PUT', '/v1/notifiers/hook', {
      body: { type: 'email', url: 'https://x.example' },
    });
    expect(badType.status).toBe(422);
    const badSecret = await api.call('PUT', '/v1/notifiers/hook', {
      body: { type: 'webhook', url: 'https://hooks.example.com/x', secret: 'plain' },
    });
    expect(badSecret.status).toBe(422);
    expect(badSecret.body.error.field).toBe('secret');
    expect((await api.call('GET', '/v1/notifiers')).body.notifiers).toEqual([]);
  });

  it('takes local http receivers only with ALERT_ALLOW_LOCAL=true', async () => {
    const body = JSON.stringify({ type: 'slack', url: 'http://127.0.0.1:9/hook' });
    const init = {
      method: 'PUT',
      headers: { authorization: 'Bearer write-token-a', 'content-type': 'application/json' },
      body,
    };
    expect((await api.raw('/v1/notifiers/local', init)).status).toBe(422);
    const allowed = await api.raw('/v1/notifiers/local', init, { ...api.env, ALERT_ALLOW_LOCAL: 'true' });
    expect(allowed.status).toBe(200);
    const broken = await api.raw('/v1/notifiers/local', init, { ...api.env, ALERT_ALLOW_LOCAL: 'yes' });
    expect(broken.status).toBe(500);
    expect((await api.call('DELETE', '/v1/notifiers/local')).status).toBe(200);
  });

  it('makes a signing secret when none is given, shows it once and keeps it on replace', async () => {
    const made = await api.call('PUT', '/v1/notifiers/hook', {
      body: { type: 'webhook', url: 'https://hooks.example.com/in?token=abc' },
    });
    expect(made.status).toBe(200);
    expect(made.body).toMatchObject({
      name: 'hook',
      type: 'webhook',
      target: 'https://hooks.example.com',
      created: true,
    });
    expect(made.body.secret).toMatch(/^whsec_/);
    const stored = JSON.parse(String(await api.backend.redis.get('notifier_hook')));
    expect(stored.secret).toBe(made.body.secret);
    const again = await api.call('PUT', '/v1/notifiers/hook', {
      body: { type: 'webhook', url: 'https://hooks.example.com/other' },
    });
    expect(again.body.created).toBe(false);
    expect(again.body.secret).toBeUndefined();
    expect(JSON.parse(String(await api.backend.redis.get('notifier_hook'))).secret).toBe(made.body.secret);
    const shown = await api.call('GET', '/v1/notifiers/hook');
    expect(JSON.stringify(shown.body)).not.toContain('whsec_');
  });
});

describe('alert rules', () => {
  it('refuses bad rules with 422', async () => {
    const bad: unknown[] = [
      { ...rule, max_loss: 2 },
      { ...rule, notify: [] },
      { ...rule, notify: ['hook', 'hook'] },
      { ...rule, for_s: -1 },
      { ...rule, for_s: 1.5 },
      { ...rule, group: 'no spaces' },
      { ...rule, extra: 1 },
      { max_loss: 0.1, notify: ['hook'] },
      { type: 'agent_offline', notify: ['hook'], group: 'dc1' },
      { type: 'sometimes', notify: ['hook'] },
      { ...rule, name: 'other-name' },
      [],
    ];
    for (const body of bad) {
      const res = await api.call('PUT', '/v1/alerts/dc1-loss', { body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.type).toBe('validation');
    }
    const unknown = await api.call('PUT', '/v1/alerts/dc1-loss', { body: { ...rule, notify: ['nobody'] } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toMatchObject({ field: 'notify', notifiers: ['nobody'] });
    expect((await api.call('PUT', '/v1/alerts/has_underscore', { body: rule })).status).toBe(400);
    expect((await api.call('GET', '/v1/alerts')).body.alerts).toEqual([]);
  });

  it('creates, lists, replaces and deletes rules; a used notifier cannot be deleted', async () => {
    const made = await api.call('PUT', '/v1/alerts/dc1-loss', {
      body: { group: 'dc1', max_loss: 0.1, notify: ['hook'] },
    });
    expect(made.status).toBe(200);
    expect(made.body).toMatchObject({ name: 'dc1-loss', type: 'group', for_s: 120, created: true });
    expect(made.body.state).toEqual({ phase: 'ok', since: null, failing_count: 0, version: 0 });
    const offline = await api.call('PUT', '/v1/alerts/edges-down', {
      body: { name: 'edges-down', type: 'agent_offline', agents: ['edge-1'], for_s: 60, notify: ['hook'] },
    });
    expect(offline.status).toBe(200);
    const list = await api.call('GET', '/v1/alerts', { token: 'read-token' });
    expect(list.body.alerts.map((a: { name: string }) => a.name)).toEqual(['dc1-loss', 'edges-down']);
    const id = JSON.parse(String(await api.backend.redis.get('alert_dc1-loss'))).id;
    const replaced = await api.call('PUT', '/v1/alerts/dc1-loss', { body: { ...rule, max_loss: 0.2 } });
    expect(replaced.body).toMatchObject({ created: false, max_loss: 0.2 });
    expect(JSON.parse(String(await api.backend.redis.get('alert_dc1-loss'))).id).toBe(id);

    const inUse = await api.call('DELETE', '/v1/notifiers/hook');
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.rules).toEqual(['dc1-loss', 'edges-down']);
    expect((await api.call('GET', '/v1/alerts/dc1-loss/deliveries')).body).toEqual({
      name: 'dc1-loss',
      deliveries: [],
    });

    expect((await api.call('DELETE', '/v1/alerts/dc1-loss')).status).toBe(200);
    expect((await api.call('DELETE', '/v1/alerts/edges-down')).status).toBe(200);
    expect((await api.call('GET', '/v1/alerts/dc1-loss')).status).toBe(404);
    expect((await api.call('DELETE', '/v1/alerts/dc1-loss')).status).toBe(404);
    expect((await api.call('GET', '/v1/alerts/dc1-loss/deliveries')).status).toBe(404);
    expect((await api.call('DELETE', '/v1/notifiers/hook')).status).toBe(200);
    expect(
      await api.backend.redis.exists('alert_dc1-loss', 'alert-list', 'notifier_hook', 'notifier-list'),
    ).toBe(0);
  });

  it('a rule whose stored value was broken by hand is still listed, read as broken, and deletable', async () => {
    await api.call('PUT', '/v1/notifiers/hook2', {
      body: { type: 'webhook', url: 'https://hooks.example.com/y' },
    });
    expect(
      (await api.call('PUT', '/v1/alerts/broken', { body: { ...rule, notify: ['hook2'] } })).status,
    ).toBe(200);
    await api.backend.redis.set('alert_broken', '{"not":"a rule"}');
    expect((await api.call('GET', '/v1/alerts/broken/deliveries')).status).toBe(200);
    expect((await api.call('DELETE', '/v1/alerts/broken')).status).toBe(200);
    expect((await api.call('GET', '/v1/alerts/broken/deliveries')).status).toBe(404);
    expect((await api.call('DELETE', '/v1/notifiers/hook2')).status).toBe(200);
  });

  it('the read-only token cannot write rules', async () => {
    const res = await api.call('PUT', '/v1/alerts/x', { body: rule, token: 'read-token' });
    expect(res.status).toBe(403);
  });
});
