import { createLab } from './lab.ts';

// A process that opens a lab and waits to be killed: the lab test checks that a signal still
// removes the namespace.

const lab = await createLab({ targets: 1 });
process.stdout.write(`${lab.netns}\n`);
setInterval(() => {}, 60_000);
