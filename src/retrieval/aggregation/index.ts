export { aggregate, type AggregateInput, type AggregateOptions, type AggregatedRecord } from './aggregate.ts';
export { deaggregate, hasMagic, type DeaggregateInput, type HashKeyRange } from './deaggregate.ts';
