// Errors the probe engine throws when it cannot start at all. Once running, a failed measurement is
// data in the results, never an exception.

// The capability goes on the executable that runs: node for the package, or the single executable
// itself (npm run build:binary).
export const GRANT_RAW_HINT =
  'raw ICMP sockets need CAP_NET_RAW: run as root, or grant it once with ' +
  `'sudo setcap cap_net_raw+ep "${process.execPath}"', ` +
  'or in a systemd unit with AmbientCapabilities=CAP_NET_RAW';

/** Opening a raw socket was refused (EPERM/EACCES): the process lacks root or CAP_NET_RAW. */
export class RawSocketPermissionError extends Error {
  readonly code = 'ERR_RAW_SOCKET_PERMISSION';
  constructor(cause: string) {
    super(`cannot open a raw ICMP socket (${cause}); ${GRANT_RAW_HINT}`);
    this.name = 'RawSocketPermissionError';
  }
}

/** The raw-socket addon is missing or was built for another Node version. */
export class RawSocketUnavailableError extends Error {
  readonly code = 'ERR_RAW_SOCKET_UNAVAILABLE';
  constructor(cause: string) {
    super(`the raw-socket addon cannot be loaded (${cause}); reinstall the package's dependencies`);
    this.name = 'RawSocketUnavailableError';
  }
}
