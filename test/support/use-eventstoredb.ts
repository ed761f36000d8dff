/** Jest setup of the "eventstoredb" project: the test ledger keeps its events in EventStoreDB. */
process.env.EVENT_STORE = 'eventstoredb';
