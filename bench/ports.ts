import { createServer } from 'node:net';

// Ports below the ephemeral ranges (Linux 32768–60999, macOS and Windows
// 49152–65535). A port the kernel picked (listen on port 0) is one it may
// give next to any outgoing connection as its local port: a test that
// stops a server and starts it again on the same port then finds it taken
// ("address in use"). No outgoing connection is given one of these.
const LOW = 20_000;
const HIGH = 32_767;

/** Ports handed out by this process, never handed out twice. */
const given = new Set<number>();

/** A free TCP port on loopback, below the ephemeral range (see above). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
    if (!given.has(port) && (await bindable(port))) {
      given.add(port);
      return port;
    }
  }
  throw new Error(`no free TCP port on 127.0.0.1 between ${LOW} and ${HIGH}`);
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
