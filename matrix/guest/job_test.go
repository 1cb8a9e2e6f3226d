package guest

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/retrobpf/retrobpf/reports"
)

func TestJobRoundTrip(t *testing.T) {
	j := &Job{
		Manifest: "/suite/suite.yaml", Ref: "6.1", BTF: "/suite/.btf/vmlinux.btf",
		LogDir: "/tmp/logs", Accel: reports.AccelTCG, VerifierOnly: true, NoProbe: true,
		Samples: 7, Programs: []string{"a", "b"}, ProbeReport: "/tmp/p.json",
		BlockDevice: true, LoopModule: "/suite/.modules/loop.ko", Fault: "panic", Output: "/tmp/o.json",
	}
	data, err := j.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeJob(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, j) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, j)
	}
}

func TestDecodeJobStrict(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"unknown field":  {`{"manifest":"/m","sampels":8}`, `unknown field "sampels"`},
		"wrong type":     {`{"manifest":"/m","samples":"8"}`, "samples"},
		"trailing data":  {`{"manifest":"/m"} {"manifest":"/n"}`, "data after"},
		"no manifest":    {`{"ref":"6.1"}`, "no manifest"},
		"few samples":    {`{"manifest":"/m","samples":3}`, "at least 6"},
		"unknown fault":  {`{"manifest":"/m","fault":"explode"}`, `fault "explode"`},
		"probe and runs": {`{"manifest":"/m","probe_only":true,"programs":["a"]}`, "probe-only"},
		"not json":       {`manifest: /m`, "job:"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeJob([]byte(tc.doc))
			if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInput mentioning %q", err, tc.want)
			}
		})
	}
}

// Marshal refuses what DecodeJob would refuse, so the host never ships a
// job the guest cannot run.
func TestMarshalChecks(t *testing.T) {
	if _, err := (&Job{Manifest: "/m", Samples: 2}).Marshal(); !errors.Is(err, ErrInput) {
		t.Fatalf("err = %v", err)
	}
}

// Every Run option a job can carry is carried: a field of Options that
// Job also has must arrive with the job's value, so adding an option
// cannot silently leave the VM path on the default.
func TestJobOptionsCopiesEveryField(t *testing.T) {
	j := &Job{
		Manifest: "/m", Ref: "6.1", BTF: "/b", BTFIfMissing: true, BTFLabel: "file:/host/b", Accel: reports.AccelTCG, VerifierOnly: true, AttachOnly: true, Deterministic: true, NoProbe: true,
		Samples: 7, Programs: []string{"a"}, BlockDevice: true, LoopModule: "/l",
	}
	o := j.Options(nil, nil, nil)
	jv, ov := reflect.ValueOf(*j), reflect.ValueOf(o)
	for i := 0; i < ov.NumField(); i++ {
		name := ov.Type().Field(i).Name
		jf := jv.FieldByName(name)
		if !jf.IsValid() {
			continue // Suite, Target, Logf: not part of a job
		}
		if jf.IsZero() {
			t.Fatalf("test job leaves %s zero: set it so the copy is checked", name)
		}
		if !reflect.DeepEqual(jf.Interface(), ov.Field(i).Interface()) {
			t.Errorf("Options.%s = %v, want the job's %v", name, ov.Field(i).Interface(), jf.Interface())
		}
	}
}
