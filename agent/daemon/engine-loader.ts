import type { EngineOptions, ProbeEngine } from '../icmp/types.ts';

// The probe engine is loaded when the daemon starts, not imported at the top, so that commands
// which never send packets never load the raw-socket addon.

export async function openEngine(options: EngineOptions): Promise<ProbeEngine> {
  const { openProbeEngine } = await import('../icmp/engine.ts');
  return openProbeEngine(options);
}
