package kversion

import "testing"

func TestParse(t *testing.T) {
	for in, want := range map[string]Version{
		"5.10.0-28-cloud-amd64": {5, 10, 0, "-28-cloud-amd64"},
		"4.19":                  {4, 19, 0, ""},
		"6.12.9":                {6, 12, 9, ""},
		"v6.1.55+":              {6, 1, 55, "+"},
		"6.18.44-fc-v669":       {6, 18, 44, "-fc-v669"},
	} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "5", "abc", "x5.10"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestCompareAndCode(t *testing.T) {
	a, b := MustParse("4.19"), MustParse("5.10.2")
	if !a.Less(b) || b.Less(a) || !b.AtLeast(a) || a.Compare(a) != 0 {
		t.Fatal("ordering broken")
	}
	if FromCode(b.Code()) != (Version{5, 10, 2, ""}) {
		t.Fatalf("code round trip: %v", FromCode(b.Code()))
	}
	if Max(a, b) != b {
		t.Fatal("Max")
	}
}
