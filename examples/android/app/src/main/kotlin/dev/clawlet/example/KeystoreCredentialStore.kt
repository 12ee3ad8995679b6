package dev.clawlet.example

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.util.Base64
import dev.clawlet.sdk.CredentialStore
import dev.clawlet.sdk.StoreException
import java.security.GeneralSecurityException
import java.security.KeyStore
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * CredentialStore backed by the Android Keystore: an AES-256-GCM key that never leaves the
 * Keystore (hardware-backed where the phone has it) encrypts each value, and the ciphertext
 * (IV + sealed bytes, Base64) sits in a private SharedPreferences file under the SDK's key.
 * The SDK key is the GCM associated data, so a value cannot be moved to another key.
 *
 * Plain Keystore + Cipher rather than androidx.security's EncryptedSharedPreferences, which is
 * deprecated. Needs API 23 (Keystore AES keys).
 *
 * The key needs no user authentication: the node must be able to read its identity from a
 * background wake with the screen locked. Exclude the prefs file from backups (see the README):
 * restored ciphertext without its Keystore key cannot be decrypted; this store then drops it,
 * and the SDK creates a new identity (a new device to approve), which is the right outcome for
 * a device identity anyway.
 */
class KeystoreCredentialStore(context: Context) : CredentialStore {
    private val prefs = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE)
    private val lock = Any()

    override fun load(key: String): ByteArray? = synchronized(lock) {
        val stored = prefs.getString(key, null) ?: return null
        try {
            val bytes = Base64.decode(stored, Base64.NO_WRAP)
            if (bytes.size <= IV_BYTES) throw GeneralSecurityException("truncated value")
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.DECRYPT_MODE, secretKey(), GCMParameterSpec(TAG_BITS, bytes, 0, IV_BYTES))
            cipher.updateAAD(key.toByteArray(Charsets.UTF_8))
            cipher.doFinal(bytes, IV_BYTES, bytes.size - IV_BYTES)
        } catch (e: GeneralSecurityException) {
            // Not decryptable with this device's key (restored from another device, key
            // deleted): treat as absent rather than failing the node forever.
            prefs.edit().remove(key).commit()
            null
        } catch (e: IllegalArgumentException) {
            prefs.edit().remove(key).commit()
            null
        }
    }

    override fun save(key: String, value: ByteArray) = synchronized(lock) {
        val sealed = try {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.ENCRYPT_MODE, secretKey())   // the Keystore picks a fresh IV
            cipher.updateAAD(key.toByteArray(Charsets.UTF_8))
            val iv = cipher.iv
            check(iv.size == IV_BYTES) { "unexpected GCM IV length ${iv.size}" }
            iv + cipher.doFinal(value)
        } catch (e: GeneralSecurityException) {
            throw StoreException.Failed("keystore encrypt $key: ${e.javaClass.simpleName}")
        }
        // commit(), not apply(): the SDK treats a returned save as durable.
        if (!prefs.edit().putString(key, Base64.encodeToString(sealed, Base64.NO_WRAP)).commit()) {
            throw StoreException.Failed("could not write $key")
        }
    }

    override fun delete(key: String) = synchronized(lock) {
        if (!prefs.edit().remove(key).commit()) throw StoreException.Failed("could not delete $key")
    }

    private fun secretKey(): SecretKey {
        val keyStore = KeyStore.getInstance(ANDROID_KEYSTORE).apply { load(null) }
        (keyStore.getKey(KEY_ALIAS, null) as? SecretKey)?.let { return it }
        val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, ANDROID_KEYSTORE)
        generator.init(
            KeyGenParameterSpec.Builder(KEY_ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .setRandomizedEncryptionRequired(true)
                .build(),
        )
        return generator.generateKey()
    }

    private companion object {
        const val PREFS = "clawlet-node-credentials"
        const val ANDROID_KEYSTORE = "AndroidKeyStore"
        const val KEY_ALIAS = "clawlet-node-credentials"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val IV_BYTES = 12
        const val TAG_BITS = 128
    }
}
