// The Java KCL 2.x lease-table bill at its defaults, per lease-hour: renewals every 3308 ms per lease
// (1 WCU each), a full Scan per worker every taker round (20050 ms) and per leader election (5 min),
// one on the leader per recovery audit (2 min); `scanUnits` is what a full Scan of the table costs.
const JAVA = { renewMs: 10000 / 3 - 25, takerMs: (10000 + 25) * 2, electionMs: 300000, auditMs: 120000 };

export function javaKcl2PerLeaseHour(leases, workers, scanUnits) {
  const scansPerHour = workers * (3600000 / JAVA.takerMs + 3600000 / JAVA.electionMs) + 3600000 / JAVA.auditMs;
  return { read: (scansPerHour * scanUnits) / leases, write: 3600000 / JAVA.renewMs };
}
