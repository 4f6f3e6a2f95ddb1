# Front door over meson. `make demo`, `make test` and `make image` install what they need first.
BUILD ?= build
# Where `make image` leaves the deployable image (scripts/make-image.sh).
IMAGE_DIR ?= $(BUILD)/deploy

.PHONY: all deps build demo demo-image image test fuzz bench clean

all: build

deps:
	@scripts/deps.sh build

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) >/dev/null
	@ninja -C $(BUILD)

# Static musl userspace, stripped; IGVM, PVH ELF + payload, initrd and listings in IMAGE_DIR.
image:
	@scripts/deps.sh image
	@scripts/make-image.sh $(BUILD) $(IMAGE_DIR)

# The demos' image part boots `make image`'s artifacts once they exist (refreshed first),
# else an image built from $(BUILD) (scripts/demo-image.sh).
USE_IMAGE = if [ -f $(IMAGE_DIR)/.inputs ]; then $(MAKE) --no-print-directory image || exit 1; \
	export MHCL_IMAGE_DIR=$(abspath $(IMAGE_DIR)); fi

demo: build
	@scripts/deps.sh test
	@$(USE_IMAGE); scripts/demo.sh $(BUILD)

demo-image: build
	@scripts/deps.sh test
	@$(USE_IMAGE); scripts/demo-image.sh $(BUILD)

test:
	@scripts/deps.sh test
	@scripts/test.sh

fuzz:
	@scripts/deps.sh test
	@scripts/fuzz.sh

bench: build
	@for b in bench/*.sh; do echo "== $$b"; $$b $(BUILD) || exit 1; done

clean:
	rm -rf build build-test build-fuzz build-musl build*.log
