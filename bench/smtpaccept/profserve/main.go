// Command profserve runs what `lightr serve` runs, in-process, under the
// CPU profiler, so that the SMTP acceptance benchmark can show where
// Lightr's time goes. It reads the same configuration (the file and the
// LIGHTR_* variables) and writes the profile when SIGINT or SIGTERM stops
// it:
//
//	go run ./bench/smtpaccept/profserve -config lightr.yaml -cpuprofile cpu.pprof
//	go tool pprof -top cpu.pprof
//
// It is a diagnostic: the figures of the benchmark come from bin/lightr.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/lightr-mail/lightr/server/app"
	"github.com/lightr-mail/lightr/server/config"
)

func main() {
	file := flag.String("config", "", "Lightr configuration `file`")
	out := flag.String("cpuprofile", "cpu.pprof", "write the CPU profile to `file`")
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

	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	defer func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			log.Print(err)
		}
	}()
	if err := a.Serve(ctx, nil); err != nil {
		log.Print(err)
	}
}
