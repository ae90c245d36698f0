/** The program evaluateAlone (alone.ts) evaluates: whatever its build function declares. */
import { runPendingBuild } from "./alone";

/** What the build function returned: outputs it wants resolved, or nothing. */
export const built = runPendingBuild() ?? {};
