// Issue 12: a mixed fleet with the Java KCL 2.7.2 (the scenarios: java-fleet.ts).
import { describeMixedFleet } from './java-fleet.ts';

describeMixedFleet('2.7.2');
