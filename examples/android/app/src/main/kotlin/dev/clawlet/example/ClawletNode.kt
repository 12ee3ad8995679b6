package dev.clawlet.example

import android.Manifest
import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import androidx.core.content.ContextCompat
import dev.clawlet.sdk.NodeClient
import dev.clawlet.sdk.NodeClientConfig
import dev.clawlet.sdk.NodeException
import dev.clawlet.sdk.NodeNotice
import dev.clawlet.sdk.NodeStatus
import dev.clawlet.sdk.NodeStatusFlow
import dev.clawlet.sdk.PinPolicy
import dev.clawlet.sdk.parseSetupCode
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** What the UI shows; one immutable snapshot per change. */
data class NodeUiState(
    val status: NodeStatus = NodeStatus.Idle,
    val statusText: String = NodeStatusText.describe(NodeStatus.Idle),
    /** Shown while the operator has to approve this phone. */
    val pairingRequestId: String? = null,
    /** The last error for the user; null when fine. */
    val errorText: String? = null,
    /** The certificate changed: offer "trust the new certificate". */
    val pinMismatch: Boolean = false,
    /** Where a scanned setup code points, shown before pairing. */
    val scannedGateway: String? = null,
    /** Set while the SDK waits for the user to trust a certificate. */
    val pinPrompt: PinPrompt? = null,
)

/**
 * The app's one node, app-scoped (created in [ExampleApplication]): the activity's
 * [NodeViewModel], the lifecycle observer and the wake worker all reach the same client, which
 * must outlive any single screen.
 */
class ClawletNode(private val context: Context) {
    private val store = KeystoreCredentialStore(context)
    private val handler = AppCommandHandler(context)
    private val pins = PinConfirmationBridge()
    private val prefs = context.getSharedPreferences("clawlet-node", Context.MODE_PRIVATE)
    private val _state = MutableStateFlow(NodeUiState())
    val state: StateFlow<NodeUiState> = _state.asStateFlow()

    @Volatile
    var client: NodeClient? = null
        private set

    /** After a restart: reconnect to the gateway paired before (its device token is stored). */
    fun restore() {
        if (client != null) return
        val url = prefs.getString(KEY_URL, null) ?: return
        start(config(gatewayUrl = url, setupCode = null, token = null))
    }

    /**
     * For a background wake (WakeWorker): the client, created without connecting if the process
     * was started for the wake; null if this phone was never paired. `wake()` connects for the
     * lease and then returns the client to where it was.
     */
    @Synchronized
    fun clientForWake(): NodeClient? {
        client?.let { return it }
        val url = prefs.getString(KEY_URL, null) ?: return null
        return try {
            NodeClient(config(gatewayUrl = url, setupCode = null, token = null), store, handler, listener)
                .also { client = it }
        } catch (e: NodeException) {
            _state.update { it.copy(errorText = NodeStatusText.describe(e)) }
            null
        }
    }

    /** The user scanned (or pasted) a setup code / oc-pair:// link. */
    fun pair(scannedCode: String) {
        try {
            // For display and an early, friendly error; NodeClient parses it again.
            val info = parseSetupCode(scannedCode)
            val pin = info.tlsFingerprint?.let { " (certificate ${it.take(16)}…)" } ?: ""
            _state.update { it.copy(scannedGateway = info.url + pin) }
        } catch (e: NodeException) {
            _state.update { it.copy(errorText = NodeStatusText.describe(e)) }
            return
        }
        replaceClient(config(gatewayUrl = null, setupCode = scannedCode, token = null))
    }

    /** Without a setup code: URL + the shared token (`clawlet gateway auth-token`). */
    fun connect(gatewayUrl: String, token: String) {
        replaceClient(config(gatewayUrl = gatewayUrl, setupCode = null, token = token))
    }

    /** The user accepted the gateway's new certificate after a PinMismatch. */
    fun trustNewCertificate() {
        val client = client ?: return
        try {
            client.forgetPin()
            _state.update { it.copy(pinMismatch = false) }
            client.connect()
        } catch (e: NodeException) {
            _state.update { it.copy(errorText = NodeStatusText.describe(e)) }
        }
    }

    fun disconnect() {
        client?.disconnect()
    }

    /** The pin dialog's buttons. */
    fun answerPinPrompt(trust: Boolean) {
        _state.update { it.copy(pinPrompt = null) }
        pins.answer(trust)
    }

    private fun replaceClient(config: NodeClientConfig) {
        client?.let {
            it.disconnect()
            it.close()          // frees the Rust object now instead of at GC
        }
        client = null
        start(config)
    }

    private fun start(config: NodeClientConfig) {
        try {
            val client = NodeClient(config, store, handler, listener)
            this.client = client
            prefs.edit().putString(KEY_URL, client.gatewayUrl()).apply()
            _state.update { it.copy(errorText = null) }
            client.connect()
        } catch (e: NodeException) {
            _state.update { it.copy(errorText = NodeStatusText.describe(e)) }
        }
    }

    // Only displayName, platform and appVersion are required; the rest has SDK defaults.
    private fun config(gatewayUrl: String?, setupCode: String?, token: String?) = NodeClientConfig(
        displayName = "${Build.MANUFACTURER} ${Build.MODEL}",
        platform = "android",
        appVersion = AppCommandHandler.appVersion(context),
        gatewayUrl = gatewayUrl,
        setupCode = setupCode,
        token = token,
        deviceFamily = "Android",
        modelIdentifier = Build.MODEL,
        caps = listOf("device", "location"),
        commands = listOf("device.info", "location.get"),
        permissions = mapOf("location" to hasLocationPermission(context)),
        pinPolicy = PinPolicy.TrustOnFirstUse,   // a pin in the setup code wins over this
    )

    /**
     * The SDK's listener as flows (the NodeStatusFlow helper shipped with the bindings): the
     * status and notices are collected into the UI state below; confirmPin suspends until the
     * user answers the dialog (no thread is blocked).
     */
    private val listener = NodeStatusFlow(
        confirmPin = { gatewayUrl, fingerprint ->
            pins.ask(
                gatewayUrl,
                fingerprint,
                show = { prompt -> _state.update { it.copy(pinPrompt = prompt) } },
                hide = { prompt -> _state.update { if (it.pinPrompt == prompt) it.copy(pinPrompt = null) else it } },
            )
        },
    )

    /** App-scoped, like the node: collects the listener's flows for the process's life. */
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    init {
        // UNDISPATCHED: subscribed before the constructor returns, so no notice is missed.
        scope.launch(start = CoroutineStart.UNDISPATCHED) {
            listener.status.collect { status ->
                _state.update {
                    it.copy(
                        status = status,
                        statusText = NodeStatusText.describe(status),
                        pairingRequestId = when (status) {
                            is NodeStatus.AwaitingApproval -> status.requestId ?: it.pairingRequestId
                            is NodeStatus.Connected -> null
                            else -> it.pairingRequestId
                        },
                        errorText = if (status is NodeStatus.Connected) null else it.errorText,
                    )
                }
            }
        }
        scope.launch(start = CoroutineStart.UNDISPATCHED) {
            listener.notices.collect { notice ->
                when (notice) {
                    is NodeNotice.PairingRequired ->
                        _state.update { it.copy(pairingRequestId = notice.requestId) }
                    is NodeNotice.PairingApproved ->
                        _state.update { it.copy(pairingRequestId = null) }
                    is NodeNotice.Error -> _state.update {
                        it.copy(
                            errorText = NodeStatusText.describe(notice.error),
                            pinMismatch = it.pinMismatch || notice.error is NodeException.PinMismatch,
                        )
                    }
                }
            }
        }
    }

    companion object {
        private const val KEY_URL = "gatewayUrl"

        fun hasLocationPermission(context: Context): Boolean =
            ContextCompat.checkSelfPermission(context, Manifest.permission.ACCESS_FINE_LOCATION) ==
                PackageManager.PERMISSION_GRANTED ||
                ContextCompat.checkSelfPermission(context, Manifest.permission.ACCESS_COARSE_LOCATION) ==
                PackageManager.PERMISSION_GRANTED
    }
}
