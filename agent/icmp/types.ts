// The probe engine's contract, shared by `ping-agent probe` and the agent daemon's job runs.
// A failed measurement is data: nothing here throws for a lost, late or refused probe.

export interface ProbeOptions {
  /** Probes per target. */
  count: number;
  /** Time between two probes to the same target, ms. */
  periodMs: number;
  /** How long a probe waits for its reply before it counts as lost, ms. */
  timeoutMs: number;
  /** ICMP payload size in bytes (at least the 16 the timestamp and tag need). */
  size: number;
  /** IP TTL / hop limit of the requests; the system default when absent. */
  ttl?: number;
}

export interface EngineOptions {
  /** Global send budget in packets per second, shared by every concurrent probe() call. */
  ratePps: number;
  /** Most probes awaiting a reply at once. */
  maxInFlight?: number;
}

export interface IcmpErrorReport {
  count: number;
  /**
   * ICMP code of the last one (for unreachable: 0 net, 1 host, 3 port, ...). -1 when the probe
   * could not leave this host (the kernel refused the send, or the target is not an address of a
   * family this host can send); `from` is then 'local'.
   */
  code: number;
  /** The router that reported it. */
  from: string;
}

export interface TargetResult {
  /** Canonical IP of the target. */
  ip: string;
  sent: number;
  received: number;
  /**
   * Round-trip times of the answered probes, ms, in the order the replies came (send order
   * unless the network reorders them).
   */
  rttsMs: number[];
  /** Replies that arrived after their timeout: not counted as received. */
  late: number;
  /** Second and later replies to one probe: not counted as received. */
  duplicates: number;
  /**
   * IP TTL of the last reply, null when none came back. Always null for IPv6: the hop limit
   * needs recvmsg() ancillary data, which the raw-socket addon does not read.
   */
  ttl: number | null;
  unreachable: IcmpErrorReport | null;
  ttlExceeded: IcmpErrorReport | null;
}

export interface ProbeEngine {
  /** Probes every target `count` times; resolves when every probe is answered or timed out. */
  probe(targets: readonly string[], options: ProbeOptions): Promise<TargetResult[]>;
  /** Waits for in-flight probes to finish, then closes the sockets. */
  close(): Promise<void>;
}
