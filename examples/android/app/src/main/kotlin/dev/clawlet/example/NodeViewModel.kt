package dev.clawlet.example

import android.app.Application
import androidx.lifecycle.AndroidViewModel
import kotlinx.coroutines.flow.StateFlow

/**
 * The screen's view of the app-scoped [ClawletNode]: a [StateFlow] of [NodeUiState] to collect,
 * and the user's actions. The node lives in the Application, not here, because the lifecycle
 * observer and the wake worker need it when no screen exists.
 */
class NodeViewModel(application: Application) : AndroidViewModel(application) {
    private val node = (application as ExampleApplication).node

    val state: StateFlow<NodeUiState> = node.state

    fun pair(scannedCode: String) = node.pair(scannedCode.trim())

    fun connect(gatewayUrl: String, token: String) = node.connect(gatewayUrl.trim(), token.trim())

    fun trustNewCertificate() = node.trustNewCertificate()

    fun answerPinPrompt(trust: Boolean) = node.answerPinPrompt(trust)

    fun disconnect() = node.disconnect()
}
