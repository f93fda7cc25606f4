/**
 * Sub-orchestrations: an orchestrator starts other orchestrators and waits for their results.
 *
 * Provisioning one device takes several steps, so it is an orchestration of its own. The parent
 * provisions a whole fleet by starting one child per device, in parallel, and collecting what
 * they return. Each child is a full instance with its own ID, history and status, so it can be
 * inspected on its own (`npx refrain status <parent ID>:device:<device ID>`).
 */
import type { ActivityRef, OrchestratorRef, TaskHub } from "refrain";

/** Input of the parent orchestrator. */
export interface FleetInput {
  /** The devices to provision. */
  deviceIds: string[];
}

/** What provisioning one device produces. */
export interface ProvisionedDevice {
  deviceId: string;
  /** The credential created for the device. */
  credential: string;
  /** The configuration version the device was given. */
  configVersion: number;
}

/** Result of the parent orchestrator. */
export interface FleetResult {
  provisioned: ProvisionedDevice[];
}

/** The functions this example registers. */
export interface SubOrchestrationsExample {
  /** Activity: creates a credential for a device. */
  createDeviceCredential: ActivityRef<string, string>;
  /** Activity: pushes configuration to a device and returns the configuration version. */
  configureDevice: ActivityRef<{ deviceId: string; credential: string }, number>;
  /** Orchestrator (child): provisions one device. */
  provisionDevice: OrchestratorRef<string, ProvisionedDevice>;
  /** Orchestrator (parent): provisions every device of the fleet through child orchestrations. */
  provisionFleet: OrchestratorRef<FleetInput, FleetResult>;
}

/** The configuration version every device receives in this example. */
const CURRENT_CONFIG_VERSION = 3;

/** Registers the sub-orchestration example on `hub`. */
export function register(hub: TaskHub): SubOrchestrationsExample {
  const createDeviceCredential = hub.activity(
    "CreateDeviceCredential",
    async (deviceId: string) => `cred-${deviceId}`,
  );
  const configureDevice = hub.activity(
    "ConfigureDevice",
    async (_device: { deviceId: string; credential: string }) => CURRENT_CONFIG_VERSION,
  );

  // The child: an ordinary orchestrator. Nothing in it knows it runs as a sub-orchestration.
  const provisionDevice = hub.orchestrator<string, ProvisionedDevice>("ProvisionDevice", function* (ctx) {
    const deviceId = ctx.input;
    const credential = yield* ctx.callActivity(createDeviceCredential, deviceId);
    const configVersion = yield* ctx.callActivity(configureDevice, { deviceId, credential });
    return { deviceId, credential, configVersion };
  });

  // The parent: one child per device, all running at once. Giving children readable IDs
  // derived from the parent's is optional; without one, a deterministic ID is generated.
  const provisionFleet = hub.orchestrator<FleetInput, FleetResult>("ProvisionFleet", function* (ctx) {
    const children = ctx.input.deviceIds.map((deviceId) =>
      ctx.callSubOrchestrator(provisionDevice, deviceId, `${ctx.instanceId}:device:${deviceId}`),
    );
    const provisioned = yield* ctx.Task.all(children);
    return { provisioned };
  });

  return { createDeviceCredential, configureDevice, provisionDevice, provisionFleet };
}
