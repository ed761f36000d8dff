/**
 * Gathers the requests made while the event loop is busy and serves them with one call: under load,
 * one round trip to Postgres answers many commands; alone, a request waits a single turn of the loop.
 */
export class MicroBatcher<In, Out> {
  private waiting: Array<{ input: In; resolve: (out: Out) => void; reject: (error: unknown) => void }> = [];

  constructor(
    /** Must return one output per input, in order. */
    private readonly serve: (inputs: In[]) => Promise<Out[]>,
    private readonly maxBatch = 256,
  ) {}

  submit(input: In): Promise<Out> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      if (this.waiting.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    for (let start = 0; start < batch.length; start += this.maxBatch) {
      const slice = batch.slice(start, start + this.maxBatch);
      try {
        const outputs = await this.serve(slice.map((item) => item.input));
        if (outputs.length !== slice.length)
          throw new Error(`served ${outputs.length} answers for ${slice.length} inputs`);
        slice.forEach((item, i) => item.resolve(outputs[i]!));
      } catch (error) {
        for (const item of slice) item.reject(error);
      }
    }
  }
}
