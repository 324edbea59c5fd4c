"""The generated Python bindings drive the real agent library against a real loopback `airlock serve`.

Environment (scripts/bindings-test sets it): AIRLOCK_BINDINGS (folder of the generated airlock.py),
AIRLOCK_LIB (libairlock_ffi.so), AIRLOCK_CLI (the `airlock` binary). Standard library only. Prints
`N passed, N failed` last and exits non-zero on any failure.
"""

import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import weakref

APP_ID = "com.example.bindings"
VERSION = "1.0.1"
INDEX_HTML = "<html><body>airlock binding test 1.0.1</body></html>\n"

# The generated loader looks for the library next to airlock.py: put both in one temp folder.
_gen = tempfile.mkdtemp(prefix="airlock-py-bindings-")
shutil.copy(os.path.join(os.environ["AIRLOCK_BINDINGS"], "airlock.py"), _gen)
shutil.copy(os.environ["AIRLOCK_LIB"], _gen)
sys.path.insert(0, _gen)
import airlock  # noqa: E402

CLI = os.environ["AIRLOCK_CLI"]


def cli(*args):
    out = subprocess.run([CLI, "--json", *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"airlock {' '.join(args)} failed: {out.stdout} {out.stderr}")
    return json.loads(out.stdout)


class Publisher:
    """A publisher repo with one signed release on `production`, served by `airlock serve` on 127.0.0.1."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="airlock-py-publisher-")
        dist = os.path.join(self.work, "dist")
        os.makedirs(os.path.join(dist, "js"))
        with open(os.path.join(dist, "index.html"), "w") as f:
            f.write(INDEX_HTML)
        with open(os.path.join(dist, "js", "app.js"), "w") as f:
            f.write("console.log('airlock');\n" * 2000)
        keys = cli("keys", "new", "--out", os.path.join(self.work, "keys"))
        self.trusted_keys = keys["capacitor_config"]["trustedKeys"]
        repo = os.path.join(self.work, "repo")
        common = ["--repo", repo, "--app-id", APP_ID, "--key", keys["signing_key"]]
        release = cli("release", dist, "--version", VERSION, *common)
        cli("channel", "set", "production", "--release", str(release["release"]), *common)
        self.server = subprocess.Popen(
            [CLI, "--json", "serve", "--repo", repo, "--addr", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True
        )
        self.url = json.loads(self.server.stdout.readline())["url"]
        self.manifest_url = f"{self.url}/{APP_ID}/releases/{release['release']}.json"
        self.zip_url = f"{self.url}/{APP_ID}/bundles/{os.path.basename(release['bundle']['path'])}"
        self.sha256 = release["bundle"]["sha256"]

    def close(self):
        self.server.kill()
        self.server.wait()
        shutil.rmtree(self.work, ignore_errors=True)


PUBLISHER = None


def setUpModule():
    global PUBLISHER
    PUBLISHER = Publisher()


def tearDownModule():
    PUBLISHER.close()


class Recorder(airlock.EventListener):
    """Records every event with the id of the thread it arrived on."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events = []

    def on_event(self, event):
        with self.lock:
            self.events.append((threading.get_ident(), event))

    def of(self, cls):
        with self.lock:
            return [(t, e) for t, e in self.events if isinstance(e, cls)]


class Device:
    """A fresh app install: its builtin bundle and data directory in a temp folder."""

    def __init__(self, plugin):
        self.root = tempfile.mkdtemp(prefix="airlock-py-device-")
        self.builtin = os.path.join(self.root, "builtin")
        os.makedirs(self.builtin)
        with open(os.path.join(self.builtin, "index.html"), "w") as f:
            f.write("<html>builtin</html>\n")
        self.data = os.path.join(self.root, "data")
        self.facts = airlock.DeviceFacts(
            platform="linux", app_id=APP_ID, native_version="1.0.0", native_build="1", os_version="test",
            builtin_dir=self.builtin, data_dir=self.data, is_emulator=True, is_prod=False, utc_offset_minutes=0,
        )
        self.events = Recorder()
        self.agent = airlock.Agent(json.dumps(plugin), self.facts, self.events)

    def close(self):
        self.agent = None
        gc.collect()
        shutil.rmtree(self.root, ignore_errors=True)


def signed_config():
    return {"trustedKeys": PUBLISHER.trusted_keys, "catalogUrl": PUBLISHER.url, "statsUrl": ""}


def open_files():
    """Paths this process holds open (Linux /proc)."""
    paths = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            paths.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    return paths


class BindingsTest(unittest.TestCase):
    def setUp(self):
        self.device = Device(signed_config())
        self.addCleanup(self.device.close)

    def download_signed(self):
        return self.device.agent.download(
            airlock.DownloadRequest(manifest_url=PUBLISHER.manifest_url), airlock.CancelToken()
        )

    def test_a_signed_bundle_downloads_applies_and_is_blessed_by_notify_app_ready(self):
        agent = self.device.agent
        bundle = self.download_signed()
        self.assertEqual(bundle.version, VERSION)
        self.assertEqual(bundle.checksum, PUBLISHER.sha256)
        self.assertEqual(bundle.status, airlock.BundleStatus.PENDING)
        self.assertEqual(agent.set_next(bundle.id).id, bundle.id)
        launch = agent.launch()
        self.assertEqual(launch.bundle.id, bundle.id)
        with open(os.path.join(launch.path, "index.html")) as f:
            self.assertEqual(f.read(), INDEX_HTML)
        self.assertTrue(os.path.isfile(os.path.join(launch.path, "js", "app.js")))
        ready = agent.notify_app_ready(launch.token)
        self.assertIsInstance(ready, airlock.ReadyResult.BLESSED)
        self.assertEqual(ready.bundle.status, airlock.BundleStatus.SUCCESS)
        current = agent.current()
        self.assertEqual((current.bundle.id, current.bundle.status), (bundle.id, airlock.BundleStatus.SUCCESS))
        self.assertEqual(current.native, "1.0.0")
        self.assertEqual([b.id for b in agent.list()], [bundle.id])
        self.assertTrue(self.device.events.of(airlock.AgentEvent.DOWNLOAD_COMPLETE))
        self.assertTrue(self.device.events.of(airlock.AgentEvent.SET_NEXT))

    def test_check_and_update_fetches_the_channel_release_and_queues_it(self):
        agent = self.device.agent
        outcome = agent.check_and_update(airlock.Trigger.MANUAL, airlock.CancelToken())
        self.assertIsInstance(outcome, airlock.AutoOutcome.DOWNLOADED, outcome)
        self.assertEqual((outcome.bundle.version, outcome.apply), (VERSION, airlock.ApplyMode.NEXT_BACKGROUND))
        self.assertEqual(agent.next_bundle().id, outcome.bundle.id)
        self.assertTrue(os.path.isfile(os.path.join(self.device.data, "airlock", "bundles", outcome.bundle.id,
                                                    "index.html")))
        again = agent.check_and_update(airlock.Trigger.MANUAL, airlock.CancelToken())
        self.assertIsInstance(again, airlock.AutoOutcome.DOWNLOADED, again)
        self.assertEqual(again.bundle.id, outcome.bundle.id, "the installed bundle is reused")
        self.assertEqual(len(self.device.events.of(airlock.AgentEvent.DOWNLOAD_COMPLETE)), 1, "downloaded once")

    def test_a_missed_ready_rolls_back_to_builtin_and_reports_the_failed_update(self):
        agent = self.device.agent
        bundle = self.download_signed()
        agent.set_next(bundle.id)
        launch = agent.launch()
        self.assertEqual(launch.bundle.id, bundle.id)
        instead = agent.ready_timeout(launch.token)
        self.assertIsNotNone(instead)
        self.assertEqual(instead.bundle.id, "builtin")
        self.assertEqual(os.path.realpath(instead.path), os.path.realpath(self.device.builtin))
        self.assertEqual(agent.current().bundle.id, "builtin")
        failed = agent.take_failed_update()
        self.assertEqual((failed.id, failed.version), (bundle.id, VERSION))
        self.assertIsNone(agent.take_failed_update(), "cleared once read")
        self.assertEqual([e.bundle.id for _, e in self.device.events.of(airlock.AgentEvent.UPDATE_FAILED)],
                         [bundle.id])

    def test_a_wrong_checksum_is_rejected_with_its_code_and_nothing_is_installed(self):
        unsigned = Device({"statsUrl": ""})
        self.addCleanup(unsigned.close)
        request = airlock.DownloadRequest(url=PUBLISHER.zip_url, version=VERSION, checksum="0" * 64)
        with self.assertRaises(airlock.UpdateError.Rejected) as caught:
            unsigned.agent.download(request, airlock.CancelToken())
        self.assertEqual(caught.exception.code, "checksum_mismatch")
        self.assertEqual(unsigned.agent.list(), [])
        failed = unsigned.events.of(airlock.AgentEvent.DOWNLOAD_FAILED)
        self.assertEqual([e.version for _, e in failed], [VERSION])
        self.assertEqual(os.listdir(os.path.join(unsigned.data, "airlock", "bundles")), [])

    def test_an_unsigned_download_is_rejected_when_trusted_keys_are_set(self):
        request = airlock.DownloadRequest(url=PUBLISHER.zip_url, version=VERSION, checksum=PUBLISHER.sha256)
        with self.assertRaises(airlock.UpdateError.Rejected) as caught:
            self.device.agent.download(request, airlock.CancelToken())
        self.assertEqual(caught.exception.code, "unsigned")

    def test_a_bad_config_fails_fast_naming_the_key(self):
        with self.assertRaises(airlock.UpdateError.Config) as caught:
            airlock.Agent(json.dumps({"appReadyTimeout": "soon"}), self.device.facts, Recorder())
        self.assertIn("appReadyTimeout", caught.exception.reason)
        with self.assertRaises(airlock.UpdateError.InvalidRequest):
            self.device.agent.set_next("no-such-bundle")

    def test_events_and_progress_arrive_on_the_thread_doing_the_work(self):
        result = {}

        def work():
            result["thread"] = threading.get_ident()
            result["bundle"] = self.download_signed()

        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
        self.assertEqual(result["bundle"].version, VERSION)
        main = threading.get_ident()
        progress = self.device.events.of(airlock.AgentEvent.DOWNLOAD)
        self.assertTrue(progress, "download progress events")
        self.assertEqual(progress[-1][1].percent, 100)
        self.assertEqual({t for t, _ in self.device.events.events}, {result["thread"]})
        self.assertNotEqual(result["thread"], main)

    def test_a_listener_that_throws_does_not_break_the_download(self):
        class Throwing(airlock.EventListener):
            def on_event(self, event):
                raise RuntimeError("listener bug")

        device = Device(signed_config())
        self.addCleanup(device.close)
        device.agent = airlock.Agent(json.dumps(signed_config()), device.facts, Throwing())
        bundle = device.agent.download(airlock.DownloadRequest(manifest_url=PUBLISHER.manifest_url),
                                       airlock.CancelToken())
        self.assertEqual(bundle.version, VERSION)
        self.assertEqual([b.id for b in device.agent.list()], [bundle.id])

    def test_a_cancelled_token_stops_the_download_before_it_starts(self):
        token = airlock.CancelToken()
        self.assertFalse(token.is_cancelled())
        token.cancel()
        self.assertTrue(token.is_cancelled())
        with self.assertRaises(airlock.UpdateError.Cancelled):
            self.device.agent.download(airlock.DownloadRequest(manifest_url=PUBLISHER.manifest_url), token)
        self.assertEqual(self.device.agent.list(), [])
        self.assertEqual(self.device.agent.current().bundle.id, "builtin")

    def test_dropping_the_agent_closes_its_database_and_releases_the_listener(self):
        db = os.path.join(self.device.data, "airlock", "state.sqlite3")
        self.assertEqual(self.device.agent.current().bundle.id, "builtin")
        self.assertIn(db, open_files())
        listener = weakref.ref(self.device.events)
        self.device.events = None
        self.device.agent = None
        gc.collect()
        self.assertNotIn(db, open_files())
        self.assertIsNone(listener(), "the agent released the foreign listener")
        reopened = airlock.Agent(json.dumps(signed_config()), self.device.facts, Recorder())
        self.assertEqual(reopened.current().bundle.id, "builtin")

    def test_the_log_sink_receives_the_library_logs(self):
        class Sink(airlock.LogSink):
            def __init__(self):
                self.lines = []

            def log(self, level, target, message):
                self.lines.append((level, target, message))

        sink = Sink()
        airlock.set_log_sink(sink, airlock.LogLevel.WARN)
        try:
            airlock.Agent(json.dumps({"noSuchKey": 1}), self.device.facts, Recorder())
        finally:
            airlock.set_log_sink(Sink(), airlock.LogLevel.ERROR)
        self.assertTrue(any("noSuchKey" in m and lv == airlock.LogLevel.WARN for lv, _, m in sink.lines), sink.lines)
        self.assertEqual(airlock.plugin_version(), self.device.agent.plugin_version())
        self.assertEqual(self.device.agent.app_ready_timeout_ms(), 10000)


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    print(f"python bindings: {result.testsRun - failed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and result.testsRun > 0 else 1)
