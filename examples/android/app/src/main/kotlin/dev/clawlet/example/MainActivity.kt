package dev.clawlet.example

import android.Manifest
import android.app.AlertDialog
import android.os.Bundle
import android.view.View
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.TextView
import androidx.activity.ComponentActivity
import androidx.activity.result.contract.ActivityResultContracts
import androidx.activity.viewModels
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.lifecycleScope
import androidx.lifecycle.repeatOnLifecycle
import kotlinx.coroutines.launch

/**
 * A minimal screen: paste/scan a setup code, see the status, the pairing request id and errors,
 * answer the certificate question. Views are built in code to keep the example to one file; a
 * real app uses Compose or layouts and a QR scanner (CameraX + ML Kit) that yields the same
 * string as the text field.
 */
class MainActivity : ComponentActivity() {
    private val model: NodeViewModel by viewModels()
    private var pinDialog: AlertDialog? = null
    private var shownPrompt: PinPrompt? = null

    private val askLocation = registerForActivityResult(ActivityResultContracts.RequestPermission()) { }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val code = EditText(this).apply { hint = "oc-pair://… setup code" }
        val pair = Button(this).apply { text = "Pair" }
        val status = TextView(this)
        val request = TextView(this)
        val error = TextView(this).apply { setTextColor(0xFFB00020.toInt()) }
        val trustNew = Button(this).apply { text = "Trust the new certificate" }
        val disconnect = Button(this).apply { text = "Disconnect" }
        setContentView(
            LinearLayout(this).apply {
                orientation = LinearLayout.VERTICAL
                setPadding(32, 32, 32, 32)
                listOf(code, pair, status, request, error, trustNew, disconnect).forEach { addView(it) }
            },
        )
        pair.setOnClickListener { model.pair(code.text.toString()) }
        trustNew.setOnClickListener { model.trustNewCertificate() }
        disconnect.setOnClickListener { model.disconnect() }
        // An oc-pair:// link opened from elsewhere (AndroidManifest intent filter).
        if (savedInstanceState == null) {
            intent?.data?.takeIf { it.scheme == "oc-pair" }?.let { model.pair(it.toString()) }
        }
        // Ask before the gateway needs it: the handler never prompts, it reports PERMISSION_DENIED.
        askLocation.launch(Manifest.permission.ACCESS_FINE_LOCATION)

        lifecycleScope.launch {
            repeatOnLifecycle(Lifecycle.State.STARTED) {
                model.state.collect { state ->
                    status.text = state.statusText
                    request.text = state.pairingRequestId?.let { "Pairing request: $it" } ?: ""
                    error.text = state.errorText ?: ""
                    trustNew.visibility = if (state.pinMismatch) View.VISIBLE else View.GONE
                    showPinPrompt(state.pinPrompt)
                }
            }
        }
    }

    private fun showPinPrompt(prompt: PinPrompt?) {
        if (prompt == shownPrompt) return
        pinDialog?.dismiss()
        pinDialog = null
        shownPrompt = prompt
        if (prompt == null) return
        pinDialog = AlertDialog.Builder(this)
            .setTitle("Trust this gateway?")
            .setMessage(
                "${prompt.gatewayUrl}\n\nCertificate SHA-256:\n${prompt.grouped}\n\n" +
                    "Compare it with `clawlet gateway tls-fingerprint` on the gateway host.",
            )
            .setCancelable(false)
            .setPositiveButton("Trust") { _, _ -> model.answerPinPrompt(true) }
            .setNegativeButton("Don't trust") { _, _ -> model.answerPinPrompt(false) }
            .show()
    }
}
