/**
 * The CommandBus side: one message class and one handler per ledger command, all made from the
 * command catalogue so a new command needs no boilerplate here.
 */
import { Injectable, type Type } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { commandTypes, type CommandOf, type CommandType, type LedgerCommand } from '@ledger/domain';
import { AccountCommandRunner } from './account-command-runner';
import type { CommandEnvelope } from './command-envelope';
import type { ReceiptJson } from './receipt';

export interface LedgerCommandMessage<T extends CommandType = CommandType> {
  readonly command: CommandOf<T>;
  readonly envelope: CommandEnvelope;
}

type MessageClass = new (command: CommandOf<CommandType>, envelope: CommandEnvelope) => LedgerCommandMessage;

function messageClass(type: CommandType): MessageClass {
  const Message = class {
    constructor(
      readonly command: CommandOf<CommandType>,
      readonly envelope: CommandEnvelope,
    ) {}
  };
  Object.defineProperty(Message, 'name', { value: `${type}Command` });
  return Message;
}

export const commandMessages = Object.fromEntries(commandTypes.map((type) => [type, messageClass(type)])) as Record<
  CommandType,
  MessageClass
>;

function handlerFor(type: CommandType): Type<ICommandHandler> {
  @Injectable()
  @CommandHandler(commandMessages[type])
  class Handler implements ICommandHandler<LedgerCommandMessage, ReceiptJson> {
    constructor(private readonly runner: AccountCommandRunner) {}

    execute({ command, envelope }: LedgerCommandMessage): Promise<ReceiptJson> {
      return this.runner.run(command as LedgerCommand, envelope);
    }
  }
  Object.defineProperty(Handler, 'name', { value: `${type}Handler` });
  return Handler;
}

/** The handlers of some commands, to be listed as a feature module's providers. */
export const commandHandlers = (...types: CommandType[]): Array<Type<ICommandHandler>> => types.map(handlerFor);
