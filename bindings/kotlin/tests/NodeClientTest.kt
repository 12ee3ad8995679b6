// End-to-end test of the generated Kotlin bindings (dev.clawlet.sdk) on the JVM, against a real
// `clawlet gateway run`. Plain `main` with checks, no JUnit: exits 1 if any scenario fails.
//
// The CredentialStore (a map persisted to a JSON file), CommandHandler and NodeListener are
// written here in Kotlin. Scenarios:
// - pairing: onPairingRequired gives the request id; `clawlet devices approve <id>` and
//   `clawlet nodes approve` let the node in; `clawlet nodes invoke` reaches the Kotlin handler
//   (its JSON comes back; a thrown CommandException is the gateway's error; a timed-out invoke
//   cancels the handler's coroutine);
// - identity: a second client over the same JSON store has the same device id and reconnects
//   with the stored device token, without the shared token or a new approval;
// - lifecycle: suspend -> Suspended -> resume -> Connected; wake(lease) from Suspended gets
//   online, serves an invoke, returns true and is Suspended again;
// - typed errors: a wrong token is NodeException.Auth(kind = TOKEN_MISMATCH); a wrong pin against
//   a TLS gateway is NodeException.PinMismatch (and the right pin connects).
//
// Run by scripts/test-bindings.sh (kotlinc + JNA + kotlinx-coroutines, see that script).
// Properties: -Dclawlet.bin=target/debug/clawlet, -Djna.library.path=<dir of libclawlet_node.so>.
package dev.clawlet.e2e

import dev.clawlet.sdk.AuthProblemKind
import dev.clawlet.sdk.CommandException
import dev.clawlet.sdk.CommandHandler
import dev.clawlet.sdk.CredentialStore
import dev.clawlet.sdk.Invoke
import dev.clawlet.sdk.NodeClient
import dev.clawlet.sdk.NodeClientConfig
import dev.clawlet.sdk.NodeException
import dev.clawlet.sdk.NodeListener
import dev.clawlet.sdk.NodeNotice
import dev.clawlet.sdk.NodeStatus
import dev.clawlet.sdk.NodeStatusFlow
import dev.clawlet.sdk.asFlow
import dev.clawlet.sdk.PinPolicy
import dev.clawlet.sdk.StoreException
import dev.clawlet.sdk.normalizePin
import dev.clawlet.sdk.version
import java.io.File
import java.io.IOException
import java.net.InetAddress
import java.net.ServerSocket
import java.nio.file.Files
import java.nio.file.StandardCopyOption
import java.util.Base64
import java.util.Collections
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread
import kotlin.system.exitProcess
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.delay
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield

const val WAIT_MS = 30_000L // every wait is bounded by this
const val LEASE_MS = 5_000L // the wake lease: long enough to connect and serve one CLI invoke
const val ECHO = "test.echo"
const val FAIL = "test.fail"
const val SLOW = "test.slow"

class CheckFailed(message: String) : Exception(message)

fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw CheckFailed(message())
}

// ---------------------------------------------------------------------------------------------
// A minimal JSON reader/writer (the test has no libraries besides the SDK's own).

object Json {
    fun parse(text: String): Any? {
        val p = Parser(text)
        val v = p.value()
        p.ws()
        check(p.i == text.length) { "trailing text in JSON: $text" }
        return v
    }

    fun write(v: Any?): String = when (v) {
        null -> "null"
        is String -> quote(v)
        is Boolean, is Int, is Long -> v.toString()
        is Double -> if (v == Math.floor(v) && !v.isInfinite()) v.toLong().toString() else v.toString()
        is Map<*, *> -> v.entries.joinToString(",", "{", "}") { quote(it.key as String) + ":" + write(it.value) }
        is List<*> -> v.joinToString(",", "[", "]") { write(it) }
        else -> throw IllegalArgumentException("cannot write ${v::class}")
    }

    private fun quote(s: String): String {
        val b = StringBuilder("\"")
        for (c in s) {
            when {
                c == '"' -> b.append("\\\"")
                c == '\\' -> b.append("\\\\")
                c < ' ' -> b.append(String.format("\\u%04x", c.code))
                else -> b.append(c)
            }
        }
        return b.append('"').toString()
    }

    private class Parser(val s: String) {
        var i = 0

        fun ws() {
            while (i < s.length && s[i].isWhitespace()) i++
        }

        fun value(): Any? {
            ws()
            check(i < s.length) { "unexpected end of JSON" }
            return when (s[i]) {
                '{' -> obj()
                '[' -> arr()
                '"' -> str()
                't' -> lit("true", true)
                'f' -> lit("false", false)
                'n' -> lit("null", null)
                else -> num()
            }
        }

        fun lit(word: String, v: Any?): Any? {
            check(s.startsWith(word, i)) { "bad JSON literal at $i" }
            i += word.length
            return v
        }

        fun num(): Double {
            val start = i
            while (i < s.length && (s[i].isDigit() || s[i] in "+-.eE")) i++
            return s.substring(start, i).toDouble()
        }

        fun str(): String {
            i++ // opening quote
            val b = StringBuilder()
            while (true) {
                val c = s[i++]
                when (c) {
                    '"' -> return b.toString()
                    '\\' -> {
                        val e = s[i++]
                        when (e) {
                            'n' -> b.append('\n')
                            't' -> b.append('\t')
                            'r' -> b.append('\r')
                            'b' -> b.append('\b')
                            'f' -> b.append('\u000c')
                            'u' -> {
                                b.append(s.substring(i, i + 4).toInt(16).toChar())
                                i += 4
                            }
                            else -> b.append(e)
                        }
                    }
                    else -> b.append(c)
                }
            }
        }

        fun arr(): List<Any?> {
            i++
            val out = mutableListOf<Any?>()
            ws()
            if (s[i] == ']') {
                i++
                return out
            }
            while (true) {
                out.add(value())
                ws()
                if (s[i++] == ']') return out
            }
        }

        fun obj(): Map<String, Any?> {
            i++
            val out = linkedMapOf<String, Any?>()
            ws()
            if (s[i] == '}') {
                i++
                return out
            }
            while (true) {
                ws()
                val k = str()
                ws()
                i++ // ':'
                out[k] = value()
                ws()
                if (s[i++] == '}') return out
            }
        }
    }
}

@Suppress("UNCHECKED_CAST")
fun Any?.obj(): Map<String, Any?> = this as Map<String, Any?>

@Suppress("UNCHECKED_CAST")
fun Any?.list(): List<Any?> = this as List<Any?>

// ---------------------------------------------------------------------------------------------
// A real gateway in its own dir.

class CliResult(val code: Int, val stdout: String, val stderr: String)

private val portsTaken = mutableSetOf<Int>()

/** A loopback port below the kernel's ephemeral range: a port from bind(0) is released before
 *  the gateway binds it, and meanwhile an outgoing connection may take it as its source port. */
@Synchronized
fun freePort(): Int {
    val low = runCatching {
        File("/proc/sys/net/ipv4/ip_local_port_range").readText().trim().split(Regex("\\s+"))[0].toInt()
    }.getOrDefault(32768).coerceAtLeast(12000)
    val random = java.util.Random()
    repeat(10000) {
        val port = 10000 + random.nextInt(low - 10000)
        if (port in portsTaken) return@repeat
        val bound = runCatching {
            ServerSocket(port, 1, InetAddress.getByName("127.0.0.1")).close()
        }.isSuccess
        if (bound) {
            portsTaken.add(port)
            return port
        }
    }
    error("no free loopback port below the ephemeral range")
}

class Gateway(root: File, name: String, config: String) {
    val dir = File(root, name).apply { mkdirs() }
    val port = freePort()
    private val configFile = File(dir, "clawlet.json").apply { writeText(config) }
    private val logFile = File(dir, "gateway.log")
    private var process: Process? = null

    private fun env(pb: ProcessBuilder): ProcessBuilder {
        val env = pb.environment()
        env.keys.removeIf { it.startsWith("OPENCLAW_") || it.startsWith("CLAWLET_") || it == "RUST_LOG" }
        File(dir, "home").mkdirs()
        env["HOME"] = File(dir, "home").path
        env["CLAWLET_CONFIG"] = configFile.path
        env["CLAWLET_STATE_DIR"] = File(dir, "state").path
        env["OPENCLAW_GATEWAY_PORT"] = port.toString()
        env["NO_COLOR"] = "1"
        env["RUST_LOG"] = "info"
        return pb
    }

    fun start() {
        val pb = env(ProcessBuilder(CLAWLET_BIN, "gateway", "run", "--port", port.toString()))
            .redirectErrorStream(true)
            .redirectOutput(logFile)
            .redirectInput(ProcessBuilder.Redirect.from(File("/dev/null")))
        val p = pb.start()
        process = p
        val deadline = System.currentTimeMillis() + WAIT_MS
        while (!log().contains("gateway ready")) {
            check(p.isAlive) { "gateway exited (${p.exitValue()}):\n${log()}" }
            check(System.currentTimeMillis() < deadline) { "gateway not ready in ${WAIT_MS}ms:\n${log()}" }
            Thread.sleep(50)
        }
    }

    /** SIGTERM: the gateway tells its clients, settles invokes and exits (within ~5 s). */
    fun terminate() {
        process?.takeIf { it.isAlive }?.destroy()
    }

    fun stop() {
        val p = process ?: return
        if (!p.isAlive) return
        p.destroy()
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly()
            p.waitFor(10, TimeUnit.SECONDS)
        }
    }

    fun log(): String = if (logFile.exists()) logFile.readText() else ""

    fun token(): String = File(dir, "state/gateway-token").readText().trim()

    fun cli(vararg args: String, ok: Boolean = true): CliResult {
        val out = File.createTempFile("cli", ".out", dir)
        val err = File.createTempFile("cli", ".err", dir)
        val p = env(ProcessBuilder(listOf(CLAWLET_BIN) + args))
            .redirectOutput(out)
            .redirectError(err)
            .redirectInput(ProcessBuilder.Redirect.from(File("/dev/null")))
            .start()
        if (!p.waitFor(WAIT_MS * 2, TimeUnit.MILLISECONDS)) {
            p.destroyForcibly()
            throw CheckFailed("clawlet ${args.joinToString(" ")} did not finish")
        }
        val r = CliResult(p.exitValue(), out.readText(), err.readText())
        out.delete()
        err.delete()
        check(!ok || r.code == 0) { "clawlet ${args.joinToString(" ")} failed (${r.code}):\n${r.stderr}\n${r.stdout}" }
        return r
    }

    fun cliJson(vararg args: String): Any? = Json.parse(cli(*args, "--json").stdout)
}

// ---------------------------------------------------------------------------------------------
// The app's side of the SDK, in Kotlin.

/** The app's own CredentialStore: a map persisted to a JSON file (values base64). */
class JsonFileStore(private val file: File) : CredentialStore {
    private val data: MutableMap<String, String> =
        if (file.exists()) Json.parse(file.readText()).obj().mapValues { it.value as String }.toMutableMap()
        else mutableMapOf()
    val saves: MutableList<String> = Collections.synchronizedList(mutableListOf())

    private fun flush() {
        val tmp = File(file.path + ".tmp")
        tmp.writeText(Json.write(data.toSortedMap()))
        Files.move(tmp.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING)
    }

    @Synchronized
    override fun load(key: String): ByteArray? = data[key]?.let { Base64.getDecoder().decode(it) }

    @Synchronized
    override fun save(key: String, value: ByteArray) {
        try {
            data[key] = Base64.getEncoder().encodeToString(value)
            saves.add(key)
            flush()
        } catch (e: IOException) {
            throw StoreException.Failed("cannot write $file: $e")
        }
    }

    @Synchronized
    override fun delete(key: String) {
        data.remove(key)
        flush()
    }
}

/** test.echo answers with JSON made here; test.fail throws; test.slow waits to be cancelled. */
class Handler : CommandHandler {
    val invokes: MutableList<Invoke> = Collections.synchronizedList(mutableListOf())
    val cancelled: MutableList<String> = Collections.synchronizedList(mutableListOf())

    override suspend fun handle(invoke: Invoke): String? {
        invokes.add(invoke)
        yield() // a real coroutine
        return when (invoke.command) {
            ECHO -> Json.write(
                mapOf(
                    "lang" to "kotlin",
                    "command" to invoke.command,
                    "echo" to invoke.paramsJson?.let { Json.parse(it) },
                ),
            )
            FAIL -> throw CommandException.Unavailable("the kotlin handler says no")
            SLOW -> try {
                delay(WAIT_MS * 2)
                null
            } catch (e: CancellationException) {
                cancelled.add(invoke.id)
                throw e
            }
            else -> throw CommandException.InvalidParams("unknown command ${invoke.command}")
        }
    }
}

/** Records every listener call (from a Rust thread) for bounded waits. */
class Recorder : NodeListener {
    val events: MutableList<Pair<String, Any?>> = Collections.synchronizedList(mutableListOf())

    override fun onStatus(status: NodeStatus) {
        events.add("status" to status)
    }

    override fun onPairingRequired(requestId: String?, reason: String?) {
        events.add("pairingRequired" to (requestId to reason))
    }

    override fun onPairingApproved(requestId: String?) {
        events.add("pairingApproved" to requestId)
    }

    override fun onError(error: NodeException) {
        events.add("error" to error)
    }

    // A suspend fun: an app awaits its dialog here without blocking a thread.
    override suspend fun confirmPin(gatewayUrl: String, fingerprint: String): Boolean {
        events.add("confirmPin" to fingerprint)
        return false
    }

    fun mark(): Int = events.size

    fun since(mark: Int): List<Pair<String, Any?>> = synchronized(events) { events.drop(mark).toList() }

    fun <T> waitFor(what: String, mark: Int = 0, timeoutMs: Long = WAIT_MS, pick: (String, Any?) -> T?): T {
        val deadline = System.currentTimeMillis() + timeoutMs
        while (true) {
            for ((kind, value) in since(mark)) {
                pick(kind, value)?.let { return it }
            }
            check(System.currentTimeMillis() < deadline) { "no $what within ${timeoutMs}ms; listener saw ${since(0)}" }
            Thread.sleep(20)
        }
    }

    fun waitStatus(want: NodeStatus, mark: Int = 0) =
        waitFor("status $want", mark) { kind, v -> if (kind == "status" && v == want) v else null }

    inline fun <reified E : NodeException> waitError(mark: Int = 0): E =
        waitFor(E::class.simpleName ?: "error", mark) { kind, v -> if (kind == "error" && v is E) v else null }
}

// Only displayName, platform and appVersion are required; everything else has a default.
fun config(url: String, token: String?, pin: PinPolicy = PinPolicy.SystemTrust) = NodeClientConfig(
    displayName = "kotlin-e2e",
    platform = "linux",
    appVersion = "0.1.0",
    gatewayUrl = url,
    token = token,
    deviceFamily = "JVM",
    caps = listOf("device"),
    commands = listOf(ECHO, FAIL, SLOW),
    pinPolicy = pin,
)

// ---------------------------------------------------------------------------------------------

val CLAWLET_BIN: String = System.getProperty("clawlet.bin") ?: "target/debug/clawlet"

class World(val root: File) {
    val clients = mutableListOf<NodeClient>()
    val policy = """"commands": {"allow": ["$ECHO", "$FAIL", "$SLOW"]}"""
    val gw = Gateway(root, "plain", """{"gateway": {"nodes": {"pairing": {"autoApproveLocal": false}, $policy}}}""")
    val tls = Gateway(root, "tls", """{"gateway": {"tls": {"enabled": true}, "nodes": {$policy}}}""")

    fun client(config: NodeClientConfig, store: CredentialStore, handler: CommandHandler = Handler(), listener: NodeListener = Recorder()) =
        NodeClient(config, store, handler, listener).also { clients.add(it) }

    fun closeClients() {
        for (c in clients) {
            runCatching { c.disconnect() }
            runCatching { c.close() }
        }
        clients.clear()
    }

    fun invokeEcho(gw: Gateway, node: String, params: Map<String, Any?>) {
        val answer = gw.cliJson("nodes", "invoke", "--node", node, "--command", ECHO, "--params", Json.write(params)).obj()
        check(answer["ok"] == true) { "invoke not ok: $answer" }
        val want = mapOf("lang" to "kotlin", "command" to ECHO, "echo" to Json.parse(Json.write(params)))
        check(answer["payload"] == want) { "invoke payload ${answer["payload"]} != $want" }
    }
}

fun freeFunctions() {
    check(version().isNotEmpty()) { "empty version" }
    check(normalizePin(List(32) { "AB" }.joinToString(":")) == "ab".repeat(32)) { "normalizePin" }
    val thrown = runCatching { normalizePin("not a pin") }.exceptionOrNull()
    check(thrown is NodeException) { "normalizePin(bad) threw $thrown" }
}

fun pairInvokeRestartSuspendWake(w: World) {
    val gw = w.gw
    val storeFile = File(w.root, "kt-node-store.json")
    val store = JsonFileStore(storeFile)
    val listener = Recorder()
    val handler = Handler()
    val client = w.client(config("ws://127.0.0.1:${gw.port}", gw.token()), store, handler, listener)
    val deviceId = client.deviceId()
    check(Regex("^[0-9a-f]{64}$").matches(deviceId)) { "device id $deviceId" }
    check(client.status() == NodeStatus.Idle) { "status before connect: ${client.status()}" }

    // Pairing: the listener hears the request id; the operator approves exactly that one.
    client.connect()
    val requestId = listener.waitFor("onPairingRequired with a request id") { kind, v ->
        if (kind == "pairingRequired") (v as Pair<*, *>).first as String? else null
    }
    val pending = gw.cliJson("devices", "list").obj()["pending"].list().map { it.obj()["requestId"] }
    check(requestId in pending) { "request $requestId not in $pending" }
    gw.cli("devices", "approve", requestId)
    listener.waitFor("onPairingApproved") { kind, _ -> if (kind == "pairingApproved") true else null }
    listener.waitStatus(NodeStatus.Connected)
    check(client.status() == NodeStatus.Connected) { "status ${client.status()}" }
    check(store.saves.any { it.startsWith("device-token:") }) { "no device token saved: ${store.saves}" }

    // The command surface: approved by the operator, then invoked through the CLI.
    val deadline = System.currentTimeMillis() + WAIT_MS
    var nodeRequest: String? = null
    while (nodeRequest == null) {
        nodeRequest = gw.cliJson("nodes", "pending").obj()["pending"].list()
            .map { it.obj() }.firstOrNull { it["nodeId"] == deviceId }?.get("requestId") as String?
        check(nodeRequest != null || System.currentTimeMillis() < deadline) { "no pending node request" }
        if (nodeRequest == null) Thread.sleep(200)
    }
    gw.cli("nodes", "approve", nodeRequest)
    w.invokeEcho(gw, deviceId, mapOf("n" to 1, "s" to "héllo"))
    check(handler.invokes.last().command == ECHO) { "handler saw ${handler.invokes}" }
    val failed = gw.cli("nodes", "invoke", "--node", deviceId, "--command", FAIL, ok = false)
    check(failed.code != 0 && (failed.stderr + failed.stdout).contains("UNAVAILABLE")) { "test.fail: ${failed.stderr}" }
    // A timed-out invoke: Rust drops the call and the handler's coroutine is cancelled.
    val slow = gw.cli("nodes", "invoke", "--node", deviceId, "--command", SLOW, "--timeout", "1000", ok = false)
    check((slow.stderr + slow.stdout).contains("TIMEOUT")) { "test.slow: ${slow.stderr}" }
    val slowId = handler.invokes.last { it.command == SLOW }.id
    listener.waitFor("the slow handler's cancellation") { _, _ -> if (slowId in handler.cancelled) true else null }

    // Restart: a new client over the same (reloaded) store, without the shared token.
    client.disconnect()
    listener.waitStatus(NodeStatus.Idle)
    client.close()
    w.clients.remove(client)
    val listener2 = Recorder()
    val client2 = w.client(config("ws://127.0.0.1:${gw.port}", null), JsonFileStore(storeFile), handler, listener2)
    check(client2.deviceId() == deviceId) { "device id changed: ${client2.deviceId()} != $deviceId" }
    client2.connect()
    listener2.waitStatus(NodeStatus.Connected)
    val unexpected = listener2.since(0).filter { it.first == "pairingRequired" || it.first == "error" }
    check(unexpected.isEmpty()) { "reconnect needed more: $unexpected" }
    val devices = gw.cliJson("devices", "list").obj()
    check(devices["paired"].list().map { it.obj()["deviceId"] } == listOf(deviceId)) { "paired: $devices" }
    check(devices["pending"].list().isEmpty()) { "pending: $devices" }
    w.invokeEcho(gw, deviceId, mapOf("after" to "restart"))

    // suspend -> Suspended -> resume -> Connected.
    var mark = listener2.mark()
    client2.`suspend`()
    listener2.waitStatus(NodeStatus.Suspended, mark)
    check(client2.status() == NodeStatus.Suspended) { "status ${client2.status()}" }
    mark = listener2.mark()
    client2.resume()
    listener2.waitStatus(NodeStatus.Connected, mark)

    // wake(lease) from Suspended: online within the lease, serves an invoke, true, Suspended.
    mark = listener2.mark()
    client2.`suspend`()
    listener2.waitStatus(NodeStatus.Suspended, mark)
    mark = listener2.mark()
    val started = System.currentTimeMillis()
    var woke: Result<Boolean>? = null
    val waker = thread(name = "wake") { woke = runCatching { runBlocking { client2.wake(LEASE_MS.toULong()) } } }
    listener2.waitStatus(NodeStatus.Connected, mark)
    val onlineAfter = System.currentTimeMillis() - started
    w.invokeEcho(gw, deviceId, mapOf("during" to "wake"))
    waker.join(WAIT_MS)
    check(!waker.isAlive) { "wake did not return" }
    check(woke?.getOrThrow() == true) { "wake returned $woke" }
    check(onlineAfter < LEASE_MS) { "online only after ${onlineAfter}ms" }
    listener2.waitStatus(NodeStatus.Suspended, mark)
    check(client2.status() == NodeStatus.Suspended) { "status after wake ${client2.status()}" }
    println("    paired ${deviceId.take(12)}…, restart kept it, wake online after ${onlineAfter}ms")
}

fun wrongToken(w: World) {
    val listener = Recorder()
    // The shipped Flow helper, with the recorder still hearing every callback.
    val flows = NodeStatusFlow(delegate = listener)
    val client = w.client(
        config("ws://127.0.0.1:${w.gw.port}", "wrong-token-0123456789"),
        JsonFileStore(File(w.root, "kt-wrong-token.json")),
        listener = flows,
    )
    val notice = runBlocking {
        val firstError = async(start = CoroutineStart.UNDISPATCHED) {
            flows.notices.filterIsInstance<NodeNotice.Error>().first()
        }
        client.connect()
        withTimeout(WAIT_MS) { flows.asFlow().first { it == NodeStatus.Stopped } }
        withTimeout(WAIT_MS) { firstError.await() }
    }
    val error = notice.error
    check(error is NodeException.Auth && error.kind == AuthProblemKind.TOKEN_MISMATCH) { "auth error: $error" }
    check(flows.status.value == NodeStatus.Stopped) { "StateFlow holds ${flows.status.value}" }
    listener.waitStatus(NodeStatus.Stopped)
}

fun pinMismatch(w: World) {
    val tls = w.tls
    val real = tls.cli("gateway", "tls-fingerprint").stdout.trim()
    val wrong = List(32) { "5A" }.joinToString(":") // well-formed, not the gateway's
    val url = "wss://127.0.0.1:${tls.port}"
    val listener = Recorder()
    val client = w.client(
        config(url, tls.token(), PinPolicy.Pinned(wrong)),
        JsonFileStore(File(w.root, "kt-pin-wrong.json")),
        listener = listener,
    )
    val error = try {
        client.connect()
        listener.waitError<NodeException.PinMismatch>()
    } catch (thrown: NodeException.PinMismatch) {
        thrown
    }
    check(normalizePin(error.expected) == normalizePin(wrong)) { "expected ${error.expected}" }
    check(normalizePin(error.presented) == normalizePin(real)) { "presented ${error.presented} != $real" }
    listener.waitStatus(NodeStatus.Stopped)

    // The real pin connects (local devices are approved silently on this gateway).
    val ok = Recorder()
    w.client(config(url, tls.token(), PinPolicy.Pinned(real)), JsonFileStore(File(w.root, "kt-pin-right.json")), listener = ok)
        .connect()
    ok.waitStatus(NodeStatus.Connected)
}

fun main() {
    check(File(CLAWLET_BIN).canExecute()) { "$CLAWLET_BIN is missing: cargo build -p clawlet-gateway" }
    val root = Files.createTempDirectory("clawlet-kt-e2e-").toFile()
    val world = World(root)
    fun stopGateways() { // both at once: each takes up to its shutdown grace
        world.gw.terminate()
        world.tls.terminate()
        world.gw.stop()
        world.tls.stop()
    }
    val cleanup = thread(start = false) { stopGateways() }
    Runtime.getRuntime().addShutdownHook(cleanup) // also on SIGTERM/SIGINT
    var passed = 0
    var failed = 0
    fun scenario(name: String, body: () -> Unit) {
        val t0 = System.currentTimeMillis()
        try {
            body()
            passed++
            println("ok   $name (${System.currentTimeMillis() - t0} ms)")
        } catch (e: Throwable) {
            failed++
            println("FAIL $name (${System.currentTimeMillis() - t0} ms): $e")
            e.printStackTrace(System.out)
        } finally {
            world.closeClients()
        }
    }
    try {
        println("kotlin e2e: SDK ${version()}, gateway logs under $root")
        scenario("free functions") { freeFunctions() }
        world.gw.start()
        world.tls.start()
        scenario("pair, invoke, restart with the stored identity, suspend/resume, wake") { pairInvokeRestartSuspendWake(world) }
        scenario("wrong token is NodeException.Auth(TOKEN_MISMATCH)") { wrongToken(world) }
        scenario("pin mismatch is NodeException.PinMismatch; the right pin connects") { pinMismatch(world) }
    } catch (e: Throwable) {
        failed++
        println("FAIL setup: $e")
        e.printStackTrace(System.out)
    } finally {
        stopGateways()
        if (failed > 0) {
            println("--- plain gateway log ---\n${world.gw.log().takeLast(4000)}")
            println("--- tls gateway log ---\n${world.tls.log().takeLast(2000)}")
        }
        if (failed == 0 && System.getenv("CLAWLET_TEST_KEEP") == null) root.deleteRecursively()
    }
    println("kotlin: $passed passed, $failed failed")
    Runtime.getRuntime().removeShutdownHook(cleanup)
    exitProcess(if (failed == 0) 0 else 1)
}
