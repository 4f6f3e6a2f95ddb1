# Front door over meson. `make demo` and `make test` install what they need first.
BUILD ?= build

.PHONY: all deps build demo demo-image test fuzz bench clean

all: build

deps:
	@scripts/deps.sh build

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) >/dev/null
	@ninja -C $(BUILD)

demo: build
	@scripts/deps.sh test
	@scripts/demo.sh $(BUILD)

demo-image: build
	@scripts/deps.sh test
	@scripts/demo-image.sh $(BUILD)

test:
	@scripts/deps.sh test
	@scripts/test.sh

fuzz:
	@scripts/deps.sh test
	@scripts/fuzz.sh

bench: build
	@for b in bench/*.sh; do echo "== $$b"; $$b $(BUILD) || exit 1; done

clean:
	rm -rf build build-test build-fuzz build*.log
