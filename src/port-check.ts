import net from 'node:net';

// Checked before the database is opened or migrated, so a second `npm start` on a busy
// port fails in a moment with a message that says what to do, not after the migrations
// with EADDRINUSE. (Something may still take the port in between; listen then fails.)

export class PortInUseError extends Error {
  override name = 'PortInUseError';
}

export function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(
          new PortInUseError(
            `Port ${port} on ${host} is already in use (another emulator?). Stop that process, or set PORT to a free port.`,
          ),
        );
      } else reject(err);
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
