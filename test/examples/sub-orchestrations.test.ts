import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { register } from "../../examples/sub-orchestrations.js";
import { withExampleHub } from "./hub.js";

describe("sub-orchestrations", () => {
  test("the parent collects what every child provisioned, in input order", () =>
    withExampleHub(register, "memory", async ({ hub, refs, finished }) => {
      const id = await hub.client.startNew(refs.provisionFleet, {
        instanceId: "fleet-1",
        input: { deviceIds: ["d1", "d2", "d3"] },
      });
      const status = await finished(id);
      assert.equal(status.runtimeStatus, "Completed");
      assert.deepEqual(status.output, {
        provisioned: [
          { deviceId: "d1", credential: "cred-d1", configVersion: 3 },
          { deviceId: "d2", credential: "cred-d2", configVersion: 3 },
          { deviceId: "d3", credential: "cred-d3", configVersion: 3 },
        ],
      });
    }));

  test("each child is an instance of its own, named after the parent", () =>
    withExampleHub(register, "memory", async ({ hub, refs, finished }) => {
      await finished(
        await hub.client.startNew(refs.provisionFleet, {
          instanceId: "fleet-2",
          input: { deviceIds: ["x", "y"] },
        }),
      );
      const children = await hub.client.getStatusBy({ instanceIdPrefix: "fleet-2:" });
      assert.deepEqual(children.map((c) => c.instanceId).sort(), ["fleet-2:device:x", "fleet-2:device:y"]);
      for (const child of children) {
        assert.equal(child.name, "ProvisionDevice");
        assert.equal(child.runtimeStatus, "Completed");
        assert.equal(child.parentInstanceId, "fleet-2");
      }
    }));
});
