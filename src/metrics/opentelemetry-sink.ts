import type { MetricDatum, MetricsSink } from './metrics-sink.ts';

/** The part of `@opentelemetry/api` this sink uses (an optional peer dependency). */
export interface OpenTelemetryApi {
  /** `@opentelemetry/api`'s `metrics`. */
  metrics: {
    /** Returns the meter named `name` from the global meter provider. */
    getMeter(
      name: string,
      version?: string,
    ): {
      /** Creates (or returns) a histogram instrument. */
      createHistogram(
        name: string,
        options?: { unit?: string; description?: string },
      ): {
        /** Records one observation. */
        record(value: number, attributes?: Record<string, string>): void;
      };
    };
  };
}

const UNITS: Record<MetricDatum['unit'], string> = { Count: '{count}', Milliseconds: 'ms', Bytes: 'By', None: '1' };

/**
 * Records every observation as an OpenTelemetry histogram named after the Java KCL metric, with
 * the KCL dimensions (Operation, ShardId, WorkerIdentifier) as attributes. Goes through
 * `@opentelemetry/api` only, so it is a no-op until the application registers an SDK.
 */
export class OpenTelemetryMetricsSink implements MetricsSink {
  private readonly histograms = new Map<string, { record(value: number, attributes?: Record<string, string>): void }>();
  private readonly meter: ReturnType<OpenTelemetryApi['metrics']['getMeter']>;

  /**
   * Creates the sink and its meter `ts-kcl`.
   * @param api - the `@opentelemetry/api` module (or anything of its shape).
   * @param namespace - recorded as the `kcl.namespace` attribute (the Scheduler passes `applicationName`).
   */
  constructor(api: OpenTelemetryApi, private readonly namespace: string) {
    this.meter = api.metrics.getMeter('ts-kcl');
  }

  /** Records the datum's observations on the histogram `kcl.<name>`. */
  record(d: MetricDatum): void {
    const key = `${d.name}|${d.unit}`;
    let histogram = this.histograms.get(key);
    if (!histogram) {
      histogram = this.meter.createHistogram(`kcl.${d.name}`, { unit: UNITS[d.unit], description: `Java KCL metric ${d.name}` });
      this.histograms.set(key, histogram);
    }
    // A datum from a scope is one observation (count 1); merged ones are split back to their mean.
    const value = d.count > 0 ? d.sum / d.count : d.sum;
    for (let i = 0; i < Math.max(1, d.count); i++) histogram.record(value, { 'kcl.namespace': this.namespace, ...d.dimensions });
  }
}

/** Loads `@opentelemetry/api` (installed by the application) and builds the sink. */
export async function createOpenTelemetrySink(namespace: string): Promise<OpenTelemetryMetricsSink> {
  let api: OpenTelemetryApi;
  try {
    const specifier: string = '@opentelemetry/api'; // a variable: the package is optional, not a build-time import
    api = (await import(specifier)) as OpenTelemetryApi;
  } catch (err) {
    throw new Error('metrics.openTelemetry needs the @opentelemetry/api package: npm install @opentelemetry/api', { cause: err });
  }
  return new OpenTelemetryMetricsSink(api, namespace);
}
