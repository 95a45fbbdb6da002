import { describe, expect, it } from 'vitest';
import { notifierUrlProblem, urlTarget } from './notifier-url.ts';

describe('notifier URLs', () => {
  it('takes public https URLs', () => {
    for (const url of [
      'https://hooks.slack.com/services/T0/B0/abc',
      'https://inventory.example.com:8443/hooks/ping?x=1',
      'https://93.184.216.34/hook',
      'https://[2606:4700::1111]/hook',
    ]) {
      expect(notifierUrlProblem(url, false), url).toBeNull();
    }
  });

  it('refuses http, other schemes, credentials and non-URLs outside local development', () => {
    expect(notifierUrlProblem('http://hooks.example.com/x', false)).toMatch(/must be https/);
    expect(notifierUrlProblem('ftp://hooks.example.com/x', false)).toMatch(/must be https/);
    expect(notifierUrlProblem('https://user:pw@hooks.example.com/x', false)).toMatch(/user name/);
    expect(notifierUrlProblem('hooks.example.com', false)).toBe('is not a URL');
  });

  it('refuses loopback, private and link-local addresses in every spelling', () => {
    for (const url of [
      'https://127.0.0.1/x',
      'https://0x7f.0.0.1/x',
      'https://2130706433/x',
      'https://10.1.2.3/x',
      'https://172.16.0.1/x',
      'https://192.168.1.1/x',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/x',
      'https://0.0.0.0/x',
      'https://[::1]/x',
      'https://[::ffff:10.0.0.1]/x',
      'https://[fd00::1]/x',
      'https://[fe80::1]/x',
      'https://[64:ff9b::a00:1]/x',
      'https://localhost/x',
      'https://api.localhost/x',
      'https://printer.local/x',
      'https://metadata.google.internal/x',
      'https://intranet/x',
    ]) {
      expect(notifierUrlProblem(url, false), url).not.toBeNull();
    }
  });

  it('allows http and local receivers in local development only', () => {
    expect(notifierUrlProblem('http://127.0.0.1:9000/hook', true)).toBeNull();
    expect(notifierUrlProblem('http://localhost:9000/hook', true)).toBeNull();
    expect(notifierUrlProblem('file:///etc/passwd', true)).toMatch(/http/);
  });

  it('shows only scheme and host in logs', () => {
    expect(urlTarget('https://hooks.slack.com/services/T0/B0/secret')).toBe('https://hooks.slack.com');
  });
});
