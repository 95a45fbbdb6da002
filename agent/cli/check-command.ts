// Placeholder until the check command lands; keeps the dispatcher's imports resolvable.
export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('ping-agent check: this command is not in this build yet\n');
  return 1;
}
