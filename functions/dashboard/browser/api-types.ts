import type { AlertPhase, DeliveryLog } from '../../../shared/alert-schema.ts';
import type { AgentMeasurementState, TargetFigures } from '../../../shared/measurement-schema.ts';
import type { HistoryPoint } from '../../../shared/schema.ts';

// The parts of the API's answers (docs/api.md) that the dashboard reads. Stored values keep their
// one schema in shared/; these are the route-level envelopes around them.

export interface GroupList {
  groups: { name: string; ip_count: number }[];
}

export interface AgentList {
  agents: { name: string; online: boolean; job_count: number; err_count: number }[];
}

/** One agent's latest figures for one IP in a group report. */
export interface ReportCell {
  rtt_ms: number | null;
  loss: number | null;
  age_s: number | null;
  err?: string | null;
}

export interface GroupReport {
  group: string;
  total: number;
  agents: { name: string }[];
  ips: { ip: string; agents: Partial<Record<string, ReportCell>> }[];
}

/** GET /v1/check's body, sent with 200 and 412 alike. */
export interface CheckVerdict {
  failing?: { agent?: string; ip?: string; likely_cause?: string }[];
  diagnosis?: string[];
}

export interface IpHistory {
  ip: string;
  agent: string;
  range: string;
  /** "minute" or "hour": the width of a point. */
  resolution: string;
  bucket_s: number;
  points: HistoryPoint[];
}

export interface ErrorEnvelope {
  error?: { message?: string };
}

/** GET /v1/measurements/{id}: each chosen agent's state, and its figures once it has finished. */
export interface MeasurementView {
  id: string;
  done: boolean;
  agents: { name: string; state: AgentMeasurementState; error?: string; results: TargetFigures[] | null }[];
}

/** One rule of GET /v1/alerts, with its state; group limits only on group rules. */
export interface AlertView {
  name: string;
  type: 'group' | 'agent_offline';
  group?: string;
  agents?: string[];
  max_loss?: number;
  max_rtt_ms?: number;
  max_age_s?: number;
  for_s: number;
  notify: string[];
  state: { phase: AlertPhase; since: string | null; failing_count: number; version: number };
}

export interface AlertList {
  alerts: AlertView[];
  /** Stored rules that do not parse. */
  problems: { name: string; problem: string }[];
}

/** GET /v1/alerts/{name}/deliveries: the rule's last 50 attempts, newest first. */
export interface DeliveryLogList {
  name: string;
  deliveries: DeliveryLog[];
}
