import type { EngineOptions, ProbeEngine } from '../icmp/types.ts';

// The probe engine is loaded when the daemon starts, not imported at the top, so that the
// raw-socket addon is only loaded by commands that send packets (and so that a test can hand the
// daemon another engine).

type EngineModule = Record<string, unknown>;

export async function openEngine(options: EngineOptions): Promise<ProbeEngine> {
  const path = '../icmp/engine.ts';
  const mod = (await import(path)) as EngineModule;
  const factory = (mod.openProbeEngine ?? mod.createProbeEngine) as
    | ((options: EngineOptions) => ProbeEngine | Promise<ProbeEngine>)
    | undefined;
  if (typeof factory !== 'function') throw new Error('the probe engine module exports no openProbeEngine()');
  return factory(options);
}
