export class Scheduler {
  inFlight = 0;
  start(): void {}
  wake(): void {}
  async stop(): Promise<void> {}
}
