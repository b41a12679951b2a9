/** WebhookProcessStatus (seed 000). */

export const ProcessStatus = {
  Error: -1,
  Waiting: 0,
  Processing: 1,
  Sent: 2,
} as const;
export type ProcessStatusValue = (typeof ProcessStatus)[keyof typeof ProcessStatus];
