import { once } from 'node:events';
import type { Server } from 'node:http';
import { createServer } from 'node:net';

/** A port the local stack needs is already taken by another process. */
export class PortInUseError extends Error {
  constructor(
    readonly service: string,
    readonly port: number,
    readonly flag: string,
  ) {
    super(
      `Port ${port} for ${service} is already in use. Stop the process using it ` +
        `(lsof -i :${port}) or choose another port with ${flag}.`,
    );
    this.name = 'PortInUseError';
  }
}

/** Where one server of the stack listens, and how a user changes it. */
export interface PortSpec {
  readonly service: string;
  readonly port: number;
  /** The flag (and environment variable) that overrides the port, for the error message. */
  readonly flag: string;
}

/** A failure to bind, as PortInUseError naming the port when it is taken. */
export function bindError(spec: PortSpec, error: unknown): unknown {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE'
    ? new PortInUseError(spec.service, spec.port, spec.flag)
    : error;
}

/** Throws PortInUseError when the port cannot be bound (port 0 always passes). */
export async function assertPortFree(spec: PortSpec): Promise<void> {
  if (spec.port === 0) return;
  const probe = createServer();
  try {
    probe.listen(spec.port, '0.0.0.0');
    await once(probe, 'listening');
  } catch (error) {
    throw bindError(spec, error);
  } finally {
    if (probe.listening) await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}

/** Starts an http(s) server on the given port and host, mapping EADDRINUSE to PortInUseError. */
export async function listen(server: Server, spec: PortSpec, host = '127.0.0.1'): Promise<number> {
  server.listen(spec.port, host);
  try {
    await once(server, 'listening');
  } catch (error) {
    throw bindError(spec, error);
  }
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return address.port;
}

/** Closes a server, ending idle keep-alive connections so the process can exit. */
export async function close(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // In-flight requests get a moment to finish, then their sockets are cut.
  const timer = setTimeout(() => server.closeAllConnections(), 2_000);
  await closed;
  clearTimeout(timer);
}
