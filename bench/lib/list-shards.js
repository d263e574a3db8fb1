// Every shard of a stream, through ListShards pages: the raw-loop baselines of the bench children share it.
// The command class comes from the caller, which loads the SDK the way it measures it.
export async function listAllShards(kinesis, ListShardsCommand, stream) {
  const shards = [];
  let token;
  do {
    const out = await kinesis.send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: stream }));
    shards.push(...out.Shards);
    token = out.NextToken;
  } while (token);
  return shards;
}
