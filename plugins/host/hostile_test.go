package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

const (
	// hostileManifestEnv has the hostile plugin report a manifest that
	// tries the host: "fileref" and "fifo" (a settings schema referring
	// to hostileFileEnv's file), "exponential", "indexed".
	hostileManifestEnv = "COUNTYCLOUD_TEST_HOSTILE_MANIFEST"
	hostileFileEnv     = "COUNTYCLOUD_TEST_HOSTILE_FILE"
)

var hostileManifest = sdk.Manifest{ID: "hostile", Name: "恶意模块", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
	Collections: map[string]sdk.Collection{"notes": {Indexed: []string{"unit"}}}}

// hostile is a plugin that speaks the protocol as a vendor's plugin
// could, without the SDK's manners: each route is one way of costing the
// host, and answers what the plugin saw of it.
type hostile struct {
	plugin.NetRPCUnsupportedPlugin
	manifest sdk.Manifest

	mu sync.Mutex
	// broker is go-plugin's broker stream, which the plugin serves and
	// the host reads; hostAddr is where the host serves its services.
	broker   grpc.ServerStream
	hostAddr string
	hostConn *grpc.ClientConn
	host     pluginv1.HostClient
	conns    []net.Conn
	sent     atomic.Int64
	// zeroAnswers are the answers of /answer, whose bodies are zeros the
	// plugin never writes, for wireCodec to send without making them.
	zeroAnswers sync.Map
}

func serveHostile() {
	h := &hostile{manifest: hostileManifestOf(os.Getenv(hostileManifestEnv), os.Getenv(hostileFileEnv))}
	plugin.Serve(&plugin.ServeConfig{HandshakeConfig: sdk.Handshake(), Plugins: plugin.PluginSet{sdk.PluginName: h},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpc.StreamInterceptor(h.interceptBroker), grpc.ForceServerCodec(wireCodec{zeroAnswers: &h.zeroAnswers}))...)
		}})
}

func hostileManifestOf(trick, file string) sdk.Manifest {
	m := hostileManifest
	switch trick {
	case "fileref", "fifo":
		m.Settings = json.RawMessage(`{"type":"object","properties":{"x":{"$ref":"file://` + file + `"}}}`)
	case "exponential":
		defs := []string{`"d0":{"type":"string"}`}
		for i := 1; i <= 40; i++ {
			defs = append(defs, fmt.Sprintf(`"d%d":{"allOf":[{"$ref":"#/$defs/d%d"},{"$ref":"#/$defs/d%d"}]}`, i, i-1, i-1))
		}
		m.Settings = json.RawMessage(`{"type":"object","$defs":{` + strings.Join(defs, ",") + `},"properties":{"x":{"$ref":"#/$defs/d40"}}}`)
	case "indexed":
		fields := make([]string, 10_000)
		for i := range fields {
			fields[i] = "f" + strconv.Itoa(i)
		}
		m.Collections = map[string]sdk.Collection{"notes": {Indexed: fields}}
	}
	return m
}

// interceptBroker keeps go-plugin's broker stream, to flood it, and
// reads from what the host sends on it where its services listen.
func (h *hostile) interceptBroker(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if info.FullMethod == "/plugin.GRPCBroker/StartStream" {
		h.mu.Lock()
		h.broker = ss
		h.mu.Unlock()
		ss = &addressReader{ServerStream: ss, h: h}
	}
	return handler(srv, ss)
}

type addressReader struct {
	grpc.ServerStream
	h *hostile
}

func (s *addressReader) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if msg, ok := m.(proto.Message); ok && err == nil {
		r := msg.ProtoReflect()
		if f := r.Descriptor().Fields().ByName("address"); f != nil && r.Get(f).String() != "" {
			s.h.mu.Lock()
			s.h.hostAddr = r.Get(f).String()
			s.h.mu.Unlock()
		}
	}
	return err
}

func (h *hostile) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterModuleServer(s, &hostileModule{h: h, broker: broker})
	return nil
}

func (h *hostile) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("a plugin does not dispense itself")
}

type hostileModule struct {
	h      *hostile
	broker *plugin.GRPCBroker
}

func (m *hostileModule) Manifest(_ context.Context, req *pluginv1.ManifestRequest) (*pluginv1.ManifestResponse, error) {
	conn, err := m.broker.Dial(req.GetHostServices())
	if err != nil {
		return nil, err
	}
	m.h.mu.Lock()
	m.h.hostConn = conn
	m.h.host = pluginv1.NewHostClient(conn)
	m.h.mu.Unlock()
	data, err := json.Marshal(m.h.manifest)
	return &pluginv1.ManifestResponse{Manifest: data}, err
}

func (m *hostileModule) Handle(ctx context.Context, req *pluginv1.HandleRequest) (*pluginv1.HandleResponse, error) {
	h := m.h
	h.mu.Lock()
	host, conn, broker, addr := h.host, h.hostConn, h.broker, h.hostAddr
	h.mu.Unlock()
	q, _ := url.ParseQuery(req.GetQuery())
	n, _ := strconv.Atoi(q.Get("n"))
	answer := func(v any) (*pluginv1.HandleResponse, error) {
		body, _ := json.Marshal(v)
		return &pluginv1.HandleResponse{Status: 200, Body: body}, nil
	}
	switch req.GetPath() {
	case "/answer":
		resp := &pluginv1.HandleResponse{Status: 200, Body: make([]byte, n)}
		h.zeroAnswers.Store(resp, struct{}{})
		return resp, nil
	case "/message":
		_, err := host.PutRecord(ctx, &pluginv1.PutRecordRequest{Capability: req.GetCapability(), Collection: "notes", Id: "big",
			Document: []byte(`{"text":"` + strings.Repeat("x", n) + `"}`)})
		return answer(status.Code(err).String())
	case "/wire":
		// A PutRecord message with a document of n bytes, written as the
		// protocol's bytes rather than made as a document first.
		err := conn.Invoke(ctx, pluginv1.Host_PutRecord_FullMethodName, putRecordOnTheWire(req.GetCapability(), n), &pluginv1.Record{}, grpc.ForceCodec(wireCodec{zeroAnswers: &h.zeroAnswers}))
		return answer(status.Code(err).String())
	case "/newer":
		// What a plugin built against a newer SDK than the host sends: a
		// field the host's protocol lacks, in the request itself and in
		// a message within it.
		newer := protowire.AppendString(protowire.AppendTag(nil, 99, protowire.BytesType), "a newer SDK's field")
		put := append(mustMarshal(&pluginv1.PutRecordRequest{Capability: req.GetCapability(), Collection: "notes", Id: "newer",
			Document: []byte(`{"unit":"办公室"}`)}), newer...)
		const startField = 7
		start := append(mustMarshal(&pluginv1.SubmitStart{Title: "群众来信"}), newer...)
		submit := protowire.AppendBytes(protowire.AppendTag(mustMarshal(&pluginv1.SubmitRequest{Capability: req.GetCapability(), Collection: "notes",
			Id: "newer", Document: []byte(`{}`)}), startField, protowire.BytesType), start)
		codec := grpc.ForceCodec(wireCodec{zeroAnswers: &h.zeroAnswers})
		putErr := conn.Invoke(ctx, pluginv1.Host_PutRecord_FullMethodName, wireMessage(put), &pluginv1.Record{}, codec)
		submitErr := conn.Invoke(ctx, pluginv1.Submissions_Submit_FullMethodName, wireMessage(submit), &pluginv1.SubmitResponse{}, codec)
		_, getErr := host.GetRecord(ctx, &pluginv1.GetRecordRequest{Capability: req.GetCapability(), Collection: "notes", Id: "newer"})
		return answer(map[string]string{"put": status.Code(putErr).String(), "submit": status.Code(submitErr).String(), "written": status.Code(getErr).String()})
	case "/broker":
		// Stream ids the host never asked for, as fast as it takes them.
		go func() {
			for i := range n {
				if broker.SendMsg(wrapperspb.UInt32(uint32(1_000_000+i))) != nil {
					return
				}
				h.sent.Add(1)
			}
		}()
		return answer("flooding")
	case "/sent":
		return answer(h.sent.Load())
	case "/conns":
		// Connections to the host services besides the one the plugin
		// needs, held open.
		for range n {
			c, err := net.DialTimeout("unix", addr, 100*time.Millisecond)
			if err != nil {
				break
			}
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		return answer(len(h.conns))
	case "/calls":
		return answer(hostileCalls(ctx, host, req.GetCapability(), n))
	case "/print":
		// n MiB on one line, as fast as the host reads it.
		go func() {
			line := bytes.Repeat([]byte("x"), 1<<20)
			for range n {
				os.Stdout.Write(line)
			}
			os.Stdout.Write([]byte("\nafter the long line\n"))
		}()
		return answer("printing")
	case "/flood":
		// Everything at once until ctx ends or d has passed: the CPU,
		// host calls and output.
		d, _ := time.ParseDuration(q.Get("d"))
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		what := q.Get("what")
		if what == "" {
			what = "cpu,print,calls"
		}
		var wg sync.WaitGroup
		for range runtime.GOMAXPROCS(0) * strings.Count(what, "cpu") {
			wg.Go(func() {
				for ctx.Err() == nil {
					for range 1_000_000 {
					}
				}
			})
		}
		if strings.Contains(what, "print") {
			wg.Go(func() {
				for ctx.Err() == nil {
					fmt.Println("flood")
				}
			})
		}
		calls := map[string]int{}
		for ctx.Err() == nil && strings.Contains(what, "calls") {
			for code, k := range hostileCalls(ctx, host, req.GetCapability(), n) {
				calls[code] += k
			}
		}
		<-ctx.Done()
		wg.Wait()
		return answer(calls)
	}
	return &pluginv1.HandleResponse{Status: 404}, nil
}

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// wireMessage is a message as its bytes on the wire.
type wireMessage []byte

// putRecordOnTheWire is a PutRecordRequest with a document of n zeros.
func putRecordOnTheWire(capability string, n int) wireMessage {
	const documentField = 5
	return withZeros(&pluginv1.PutRecordRequest{Capability: capability, Collection: "notes", Id: "big"}, documentField, n)
}

// withZeros is msg with n zeros the plugin never writes as its bytes
// field: the kernel maps the pages of a large make only as they are
// touched, so a message of any size costs the plugin only what gRPC sends
// of it before the host refuses it.
func withZeros(msg proto.Message, field protowire.Number, n int) wireMessage {
	head, err := proto.Marshal(msg)
	if err != nil {
		panic(err)
	}
	head = protowire.AppendVarint(protowire.AppendTag(head, field, protowire.BytesType), uint64(n))
	wire := make([]byte, len(head)+n)
	copy(wire, head)
	return wire
}

// wireCodec sends a wireMessage as it is, an answer of zeroAnswers with
// its body's zeros unmade, and everything else as proto.
type wireCodec struct{ zeroAnswers *sync.Map }

func (c wireCodec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case wireMessage:
		return m, nil
	case *pluginv1.HandleResponse:
		if _, ok := c.zeroAnswers.LoadAndDelete(m); ok {
			const bodyField = 3
			return withZeros(&pluginv1.HandleResponse{Status: m.GetStatus(), Headers: m.GetHeaders()}, bodyField, len(m.GetBody())), nil
		}
	}
	return proto.Marshal(v.(proto.Message))
}

func (wireCodec) Unmarshal(data []byte, v any) error { return proto.Unmarshal(data, v.(proto.Message)) }

func (wireCodec) Name() string { return "proto" }

// hostileCalls makes n host calls at once and counts their outcomes.
func hostileCalls(ctx context.Context, host pluginv1.HostClient, capability string, n int) map[string]int {
	var mu sync.Mutex
	out := map[string]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := host.GetRecord(ctx, &pluginv1.GetRecordRequest{Capability: capability, Collection: "notes", Id: "bench"})
			mu.Lock()
			out[status.Code(err).String()]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}
