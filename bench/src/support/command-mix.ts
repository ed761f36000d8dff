/**
 * The realistic command mix of the throughput scenarios, over many accounts: accept a run (40%),
 * complete one of the client's open runs (35%), place a settlement hold on one of its completed
 * runs (15%), grant credits (10%). A command needing a run the client does not have falls back as
 * the original loop did: no open run → accept; no completed run → grant.
 *
 * Each client keeps its own runs (its lane), so the mix never sends a command that depends on one
 * not yet answered: a run accepted in a batch can be completed in a later batch, never the same one.
 * The same commands go through the single routes or the batch endpoint alike.
 */
import type { BatchCommand, BenchClient } from './http';
import { BENCH_PROJECTS, pick, type Sample } from './workload';

export const MIX = { AcceptRun: 0.4, CompleteRun: 0.35, PlaceSettlementHold: 0.15, GrantCredits: 0.1 } as const;
export type MixCommandType = keyof typeof MIX;

export interface MixCommand {
  readonly type: MixCommandType;
  /** The single route's path parameters. */
  readonly params: { readonly accountId: string; readonly runId?: string };
  readonly body: Record<string, unknown>;
  readonly idempotencyKey: string;
  /** The single route. */
  readonly path: string;
  /** The run this command is about (accepted or completed by it). */
  readonly run?: OpenRun;
}

interface OpenRun {
  readonly accountId: string;
  readonly runId: string;
}

export class CommandMix {
  private readonly lanes: { open: OpenRun[]; completed: OpenRun[] }[];
  private serial = 0;

  /** `tag` keeps ids apart when several mixes write to the same accounts. */
  constructor(
    private readonly accounts: readonly string[],
    clients: number,
    private readonly tag: string,
  ) {
    this.lanes = Array.from({ length: clients }, () => ({ open: [], completed: [] }));
  }

  private lane(client: number): { open: OpenRun[]; completed: OpenRun[] } {
    const lane = this.lanes[client];
    if (!lane) throw new Error(`no client ${client}`);
    return lane;
  }

  /** The next command of client `client`. */
  next(client: number): MixCommand {
    const lane = this.lane(client);
    const roll = Math.random();
    if (roll < MIX.AcceptRun || lane.open.length === 0) return this.accept(client);
    const run = roll < 0.75 ? lane.open.shift() : roll < 0.9 ? lane.completed.shift() : undefined;
    if (roll < 0.75 && run) {
      return {
        type: 'CompleteRun',
        params: { accountId: run.accountId, runId: run.runId },
        body: { actualCost: '10.25' },
        idempotencyKey: `complete:${run.runId}`,
        path: `/v1/accounts/${run.accountId}/runs/${run.runId}/complete`,
        run,
      };
    }
    if (roll < 0.9 && run) {
      return {
        type: 'PlaceSettlementHold',
        params: { accountId: run.accountId },
        body: { holdId: `hold-${run.runId}`, runId: run.runId, provider: 'model-provider-a', amount: '2.5' },
        idempotencyKey: `hold:${run.runId}`,
        path: `/v1/accounts/${run.accountId}/settlement-holds`,
        run,
      };
    }
    const accountId = pick(this.accounts);
    const grantId = `grant-${this.tag}${client}-${this.serial++}`;
    return {
      type: 'GrantCredits',
      params: { accountId },
      body: { grantId, source: 'top_up', amount: '50' },
      idempotencyKey: `grant:${grantId}`,
      path: `/v1/accounts/${accountId}/grants`,
    };
  }

  private accept(client: number): MixCommand {
    const accountId = pick(this.accounts);
    const runId = `run-${this.tag}${client}-${this.serial++}`;
    return {
      type: 'AcceptRun',
      params: { accountId },
      body: {
        runId,
        projectId: pick(BENCH_PROJECTS),
        action: 'workflow.run',
        capabilityBand: 'standard',
        estimatedCost: '12.5',
      },
      idempotencyKey: `accept:${runId}`,
      path: `/v1/accounts/${accountId}/runs`,
      run: { accountId, runId },
    };
  }

  /** What the ledger answered `command` of client `client`: an accepted run may be completed, a completed one held. */
  settle(client: number, command: MixCommand, status: number): void {
    if (status !== 200 || !command.run) return;
    const lane = this.lane(client);
    if (command.type === 'AcceptRun') lane.open.push(command.run);
    else if (command.type === 'CompleteRun') lane.completed.push(command.run);
  }
}

/** The batch endpoint's form of a command: the single route's params, body and key. */
export const asBatchCommand = (command: MixCommand): BatchCommand => ({
  type: command.type,
  params: command.params,
  body: command.body,
  idempotencyKey: command.idempotencyKey,
});

/** A closed-loop step sending the mix one command per request, through the single routes. */
export function singleStep(client: BenchClient, mix: CommandMix): (c: number) => Promise<Sample> {
  return async (c) => {
    const command = mix.next(c);
    const answer = await client.command(command.path, command.body, command.idempotencyKey);
    mix.settle(c, command, answer.status);
    return { kind: command.type, status: answer.status, ms: answer.ms };
  };
}

/** A closed-loop step sending the mix `size` commands per request, through the batch endpoint. */
export function batchStep(client: BenchClient, mix: CommandMix, size: number): (c: number) => Promise<Sample> {
  return async (c) => {
    const commands = Array.from({ length: size }, () => mix.next(c));
    const answer = await client.batch(commands.map(asBatchCommand));
    let ok = 0;
    commands.forEach((command, i) => {
      const status = answer.results?.[i]?.status ?? answer.status;
      if (status === 200) ok++;
      mix.settle(c, command, status);
    });
    return { kind: 'batch', status: answer.status, ms: answer.ms, ok, commands: answer.results ? size : 0 };
  };
}
