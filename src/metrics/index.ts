import { Elysia } from "elysia";
import type { Services } from "../services.ts";

export function metricsRoutes(_services: Services, _inFlight: () => number) {
  return new Elysia();
}
