// The Go KCL baseline (github.com/vmware/vmware-go-kcl-v2 v1.0.0) for bench/go-kcl.bench.js.
// One worker on a preloaded stream: its processor counts records and checkpoints each batch. It
// prints one JSON line when every record has been delivered ("drained": CPU and wall time from
// just before Start(), peak RSS so far), idles for idleMs, then prints a second line ("idle": CPU
// over the idle window, RSS and Go heap after it) and exits without a shutdown.
//
//	go-kcl '{"kinesis":"http://...","dynamodb":"http://...","stream":"s","app":"a","records":40000,"pollMs":200,"idleMs":20000}'
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/sirupsen/logrus"
	cfg "github.com/vmware/vmware-go-kcl-v2/clientlibrary/config"
	kcl "github.com/vmware/vmware-go-kcl-v2/clientlibrary/interfaces"
	wk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/worker"
	"github.com/vmware/vmware-go-kcl-v2/logger"
)

type options struct {
	Kinesis  string `json:"kinesis"`
	DynamoDB string `json:"dynamodb"`
	Stream   string `json:"stream"`
	App      string `json:"app"`
	Records  int64  `json:"records"`
	PollMs   int    `json:"pollMs"`
	IdleMs   int    `json:"idleMs"`
}

var delivered atomic.Int64
var touched atomic.Int64
var drained = make(chan struct{})
var target int64

type processor struct{}

func (processor) Initialize(*kcl.InitializationInput) {}

// ProcessRecords does the ts-kcl bench's per-record work (length, first and last byte) and checkpoints the batch.
func (processor) ProcessRecords(in *kcl.ProcessRecordsInput) {
	if len(in.Records) == 0 {
		return
	}
	var t int64
	for _, r := range in.Records {
		d := r.Data
		t += int64(len(d))
		if len(d) > 0 {
			t += int64(d[0]) + int64(d[len(d)-1])
		}
	}
	touched.Add(t)
	last := in.Records[len(in.Records)-1].SequenceNumber
	if err := in.Checkpointer.Checkpoint(last); err != nil {
		fmt.Fprintf(os.Stderr, "checkpoint failed: %v\n", err)
	}
	if delivered.Add(int64(len(in.Records))) == target {
		close(drained)
	}
}

func (processor) Shutdown(in *kcl.ShutdownInput) {
	if in.ShutdownReason == kcl.TERMINATE {
		_ = in.Checkpointer.Checkpoint(nil)
	}
}

type factory struct{}

func (factory) CreateProcessor() kcl.IRecordProcessor { return processor{} }

func cpuUs() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Sec*1e6 + ru.Utime.Usec + ru.Stime.Sec*1e6 + ru.Stime.Usec
}

func maxRssBytes() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss * 1024
}

// rssBytes is the current resident set (the second field of /proc/self/statm, in pages).
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func emit(v map[string]any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func main() {
	var o options
	if err := json.Unmarshal([]byte(os.Args[1]), &o); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	target = o.Records
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	quiet.SetLevel(logrus.ErrorLevel)
	creds := credentials.NewStaticCredentialsProvider("local", "local", "")
	config := cfg.NewKinesisClientLibConfigWithCredential(o.App, o.Stream, "us-east-1", "go-worker", creds).
		WithKinesisEndpoint(o.Kinesis).
		WithDynamoDBEndpoint(o.DynamoDB).
		WithInitialPositionInStream(cfg.TRIM_HORIZON).
		WithIdleTimeBetweenReadsInMillis(o.PollMs).
		WithShardSyncIntervalMillis(1000).
		WithLogger(logger.NewLogrusLogger(quiet))

	cpu0 := cpuUs()
	t0 := time.Now()
	worker := wk.NewWorker(factory{}, config)
	if err := worker.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "start failed: %v\n", err)
		os.Exit(1)
	}
	<-drained
	cpuDrain := cpuUs() - cpu0
	emit(map[string]any{"phase": "drained", "records": delivered.Load(), "cpuUs": cpuDrain, "wallMs": time.Since(t0).Milliseconds(), "maxRssBytes": maxRssBytes(), "rssBytes": rssBytes(), "touched": touched.Load()})
	cpu1 := cpuUs()
	time.Sleep(time.Duration(o.IdleMs) * time.Millisecond)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	emit(map[string]any{"phase": "idle", "records": delivered.Load(), "idleCpuUs": cpuUs() - cpu1, "idleMs": o.IdleMs, "maxRssBytes": maxRssBytes(), "rssBytes": rssBytes(), "heapInUseBytes": ms.HeapInuse})
	os.Exit(0)
}
