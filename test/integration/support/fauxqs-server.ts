// fauxqs (SQS and S3) in a process of its own, bound to loopback: `node --import tsx fauxqs-server.ts <port>`.
import { startFauxqs } from '../../../local/emulators.js';

const port = Number(process.argv[2] ?? 0);
const running = await startFauxqs({ port });
process.stdout.write(`${running.endpoint}\n`);
const stop = () => void running.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
