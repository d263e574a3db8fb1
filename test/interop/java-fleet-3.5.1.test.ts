// Issue 12: a mixed fleet with the Java KCL 3.5.1 in its 2.x-compatible mode (the scenarios: java-fleet.ts).
import { describeMixedFleet } from './java-fleet.ts';

describeMixedFleet('3.5.1');
