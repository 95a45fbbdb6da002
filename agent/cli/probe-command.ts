// Placeholder until the probe command lands; keeps the dispatcher's imports resolvable.
export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('ping-agent probe: this command is not in this build yet\n');
  return 1;
}
