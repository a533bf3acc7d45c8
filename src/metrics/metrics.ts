// Prometheus metrics: counters read from the cameras and MQTT at scrape time, latencies as histograms.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Stage } from '../track/frame-analyzer.js';
import type { CameraStatus, WorkerMetrics } from '../track/camera-worker.js';
import type { PublisherStats } from '../publish/mqtt-publisher.js';

/** What the metrics read when scraped. */
export interface MetricsSources {
  cameras(): CameraStatus[];
  mqtt(): PublisherStats | undefined;
  modelVersion(): string | null;
}

/**
 * Fine where the answers are (a stage takes 5–250 ms, a frame 100–600 ms on a Pi): a p95 under
 * 150 ms could not be read from 0.1/0.25/0.5 buckets (issue 16). Twenty buckets, cheap to scrape.
 */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2.5, 5, 10];

export class Metrics implements WorkerMetrics {
  readonly registry = new Registry();
  private readonly stage: Histogram<'stage'>;
  private readonly frameToResult: Histogram<'camera'>;
  private readonly frameToPublish: Histogram;
  private readonly restarts: Counter<'camera'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'actor_recognizer_' });
    this.stage = new Histogram({
      name: 'actor_recognizer_stage_seconds',
      help: 'Time per pipeline stage per call',
      labelNames: ['stage'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.frameToResult = new Histogram({
      name: 'actor_recognizer_frame_to_result_seconds',
      help: 'From a frame leaving ffmpeg to its faces tracked',
      labelNames: ['camera'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.frameToPublish = new Histogram({
      name: 'actor_recognizer_frame_to_publish_seconds',
      help: 'From a frame leaving ffmpeg to the MQTT broker accepting a message it caused',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.restarts = new Counter({ name: 'actor_recognizer_ffmpeg_restarts_total', help: 'ffmpeg restarts per camera', labelNames: ['camera'], registers });
    const perCamera = (name: string, help: string, pick: (c: CameraStatus) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['camera'],
        registers,
        collect() {
          this.reset();
          for (const c of sources.cameras()) this.inc({ camera: c.id }, pick(c));
        },
      });
    perCamera('actor_recognizer_frames_in_total', 'Frames read from ffmpeg', (c) => c.framesIn);
    perCamera(
      'actor_recognizer_frames_processed_total',
      'Frames handled in time: analysed, or carried by the detection schedule (not dropped)',
      (c) => c.framesProcessed,
    );
    perCamera('actor_recognizer_frames_dropped_total', 'Frames dropped because inference was busy (the newest frame wins)', (c) => c.framesDropped);
    new Gauge({
      name: 'actor_recognizer_camera_up',
      help: '1 while a camera delivers frames, 0 otherwise (failed, restarting)',
      labelNames: ['camera', 'state'],
      registers,
      collect() {
        this.reset();
        for (const c of sources.cameras()) this.set({ camera: c.id, state: c.state }, c.state === 'running' ? 1 : 0);
      },
    });
    const mqtt = (name: string, help: string, pick: (s: PublisherStats) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          const stats = sources.mqtt();
          if (stats) this.inc(pick(stats));
        },
      });
    mqtt('actor_recognizer_mqtt_published_total', 'MQTT messages the broker accepted', (s) => s.published);
    mqtt('actor_recognizer_mqtt_failed_total', 'MQTT publishes that failed', (s) => s.failed);
    mqtt('actor_recognizer_mqtt_dropped_total', 'MQTT messages dropped while the broker was away and the buffer full', (s) => s.dropped);
    new Gauge({
      name: 'actor_recognizer_model_info',
      help: 'The running actor model (value 1, version as a label)',
      labelNames: ['version'],
      registers,
      collect() {
        this.reset();
        this.set({ version: sources.modelVersion() ?? 'none' }, 1);
      },
    });
  }

  observeStage = (stage: Stage, seconds: number): void => {
    this.stage.observe({ stage }, seconds);
  };

  observePublish = (seconds: number): void => {
    this.frameToPublish.observe(seconds);
  };

  frameProcessed(camera: string, secondsSinceArrival: number): void {
    this.frameToResult.observe({ camera }, secondsSinceArrival);
  }

  ffmpegRestart(camera: string): void {
    this.restarts.inc({ camera });
  }
}
