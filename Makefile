# Two commands do everything on a fresh machine: `make demo` and `make test`.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.vidclip-installed
EXTRAS  ?= dev,torchcodec,decord,triton,faiss,hf,viz,serve
TORCH   ?= torch==2.14.1 torchvision==0.29.1
PYTEST_ARGS ?=

.PHONY: demo test setup ffmpeg chromium clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory ffmpeg
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	touch $(STAMP)

# torchcodec links against the system FFmpeg libraries (Debian's `ffmpeg` package).
ffmpeg:
	@if ldconfig -p | grep -q 'libavcodec\.so' && command -v ffmpeg >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's ffmpeg (libraries for torchcodec)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null; \
	else echo "warning: FFmpeg libraries not found and not root: torchcodec will be unavailable (PyAV still works)"; fi

# The browser tests of `vidclip serve` drive Debian's headless Chromium through its chromedriver.
chromium:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium and chromium-driver (browser tests of vidclip serve)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "warning: chromium/chromedriver not found and not root: the browser tests will be skipped"; fi

demo: $(STAMP)
	$(VENV)/bin/vidclip demo --out demo_out

# the browser is only for the tests: `make demo` does not wait for it
test: $(STAMP) chromium
	$(PY) -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) demo_out *.egg-info
