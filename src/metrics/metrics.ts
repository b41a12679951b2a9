import type { Executor } from "../db/database.ts";

export class Metrics {
  recordAttempt(_result: "success" | "failure", _durationMs: number): void {}
  recordDelivery(_outcome: "sent" | "error", _latencyMs: number): void {}
  async render(_db: Executor, _state: { inFlight: number }): Promise<string> {
    return "";
  }
}
