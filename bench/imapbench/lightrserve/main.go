// Command lightrserve runs what `lightr serve` runs, in-process, with Go's
// profiling endpoints on a second loopback address, so that the IMAP
// benchmark can profile Lightr and read its memory after a collection.
// It reads the same configuration (the file and the LIGHTR_* variables):
//
//	go run ./bench/imapbench/lightrserve -config lightr.yaml -debug 127.0.0.1:6060
//	go tool pprof -top 'http://127.0.0.1:6060/debug/pprof/profile?seconds=20'
//
// Besides net/http/pprof, POST /debug/free runs a collection and returns
// freed memory to the operating system (debug.FreeOSMemory), so that RSS
// shows what is live rather than what the collector has yet to give back.
// -cpuprofile profiles the whole run, written when SIGINT or SIGTERM
// stops it.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	rpprof "runtime/pprof"
	"syscall"
	"time"

	"github.com/lightr-mail/lightr/server/app"
	"github.com/lightr-mail/lightr/server/config"
)

func main() {
	file := flag.String("config", "", "Lightr configuration `file`")
	addr := flag.String("debug", "127.0.0.1:6060", "loopback `address` of the profiling endpoints")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to `file`")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load(config.LoadOptions{File: *file})
	if err != nil {
		log.Fatal(err)
	}
	a, err := app.Open(ctx, cfg, app.NewLogger(cfg.Log, os.Stderr))
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = a.Close() }()

	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/free", func(w http.ResponseWriter, _ *http.Request) {
		debug.FreeOSMemory()
		w.WriteHeader(http.StatusNoContent)
	})
	dbg := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := dbg.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			log.Print(err)
		}
	}()
	defer func() { _ = dbg.Close() }()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := rpprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer func() {
			rpprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	if err := a.Serve(ctx, nil); err != nil {
		log.Print(err)
	}
}
