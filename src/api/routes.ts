// Every route of the API, each a fastify plugin, registered here and nowhere else.
import type { FastifyInstance } from 'fastify';
import type { Admission } from './admission.js';
import { coreRoutes, type CoreDeps } from './core-routes.js';
import { enrollRoutes, type EnrollDeps } from './enroll-routes.js';
import { liveRoutes, type LiveDeps } from './live-routes.js';
import { modelRoutes, type ModelControl } from './model-routes.js';
import { statusRoutes, type StatusDeps } from './status-routes.js';
import { webRoutes, type WebPage } from './web-routes.js';

/**
 * The slices of the daemon the routes need. The live side's (cameras, enrolment, status) are
 * absent where the app serves photos alone (the API's tests): their routes are then not there.
 */
export interface ApiDeps extends Omit<CoreDeps, 'admission'> {
  /** The model store's versions, rollback and reload (GET /v1/models, POST /v1/model/*). */
  modelControl?: ModelControl;
  live?: LiveDeps;
  enroll?: Omit<EnrollDeps, 'admission'>;
  status?: StatusDeps;
}

export async function registerRoutes(app: FastifyInstance, deps: ApiDeps, page: WebPage, admission: Admission | undefined): Promise<void> {
  const withAdmission = admission ? { admission } : {};
  await app.register(coreRoutes, { ...deps, ...withAdmission });
  if (deps.modelControl) await app.register(modelRoutes, deps.modelControl);
  if (deps.live) await app.register(liveRoutes, deps.live);
  if (deps.enroll) await app.register(enrollRoutes, { ...deps.enroll, ...withAdmission });
  if (deps.status) await app.register(statusRoutes, deps.status);
  await app.register(webRoutes, page);
}
