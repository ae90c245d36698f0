import { expect } from "chai";
import { bundleFunction } from "../../components/lib/bundle";

// Classic zod bundles ~124 KB and builds its method-rich schemas on every cold start; zod/mini ~19 KB.
// Either a handler's own file or a library schema built with classic zod (Powertools' parser
// schemas are) brings all of classic zod back. zod names each class it defines
// (zod/v4/core/core.js `$constructor(name, ...)`): classic's base class is "ZodType"
// (zod/v4/classic/schemas.js), mini's "ZodMiniType", core's "$ZodType".
describe("Lambda bundles: zod/mini only", () => {
  for (const name of ["dispatch", "freshness"]) {
    it(`${name} holds zod/mini and no classic zod`, function () {
      this.timeout(120_000);
      const { code } = bundleFunction(name);
      expect(code).to.include('"ZodMiniType"');
      expect(code).not.to.include('"ZodType"');
    });
  }
});
