/**
 * The Node flags every service process (the API, the projector) runs with. The launcher and the
 * benchmarks start them with these; the Dockerfile sets them in NODE_OPTIONS and the README's
 * commands spell them out (a test holds those two to this list).
 *
 * A larger young generation: the command path and the projector allocate short-lived objects for
 * every command (receipts, statement documents, decoded events). With V8's default semi-spaces
 * (growing to 16 MiB) the scavenger ran often enough to take ~15% of the API's samples under load
 * and promoted objects that died soon after. At 64 MiB, measured side by side (commands-batch, two
 * runs each): API CPU per batched command 190–192 → 156–167 µs, per single command 430–445 →
 * 403–424 µs of server CPU. The cost is memory: up to ~100 MiB more per process at peak.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
